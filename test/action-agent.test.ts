import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionAgent } from '../drivers/core/action-agent.ts';
import { frame, Frame, FrameReader, requestPayload } from '../drivers/core/agent-frames.ts';
import type { ActionRunner } from '../drivers/core/action-run.ts';
import { readBoundedStdin } from '../drivers/core/bounded-stdin.ts';
import { InvalidInputError } from '../drivers/core/errors.ts';
import { openNebulaExitCode } from '../drivers/opennebula/entry-point.ts';
import { collect, startExecutable } from './helpers/vmm.ts';

// The launchers' agent path end to end without Docker: the committed launch.sh and agent-client.py in a remotes tree
// of their own, whose vmm.mjs (run when the agent is not for them) says so, against an ActionAgent with a runner that
// echoes what it was handed.
const work = mkdtempSync(join(tmpdir(), 'dockvisor-agent-'));
const remotes = join(work, 'remotes');
const lib = join(remotes, 'lib/dockvisor');
const socketPath = join(work, 'agent/agent.sock');
const home = join(work, 'home');
const VERSION = '0.1.0+agenttest';

/** Holds an action of one VM id inside the runner until opened. */
interface Gate {
  started: Promise<void>;
  hit: () => void;
  opened: Promise<void>;
  open: () => void;
}
const gates = new Map<string, Gate>();
function gate(vmId: string): Gate {
  const made = {} as Gate;
  made.started = new Promise<void>((resolve) => (made.hit = resolve));
  made.opened = new Promise<void>((resolve) => (made.open = resolve));
  gates.set(vmId, made);
  return made;
}

const calls: string[] = [];
const runner: ActionRunner = {
  label: (action) => `dockvisor ${action}`,
  exitCode: openNebulaExitCode,
  key: (_action, argv) => `vmm ${argv.at(-2) ?? ''}`,
  async run(action, argv, io) {
    const stdin = await readBoundedStdin(4 * 1024 * 1024, io.input);
    calls.push(`${action} ${argv.at(-2) ?? ''} start`);
    const waiting = gates.get(argv.at(-2) ?? '');
    if (waiting) {
      waiting.hit();
      await waiting.opened;
    }
    calls.push(`${action} ${argv.at(-2) ?? ''} end`);
    if (action === 'fail') throw new InvalidInputError('the document is\nnot one');
    if (action === 'exit42') return 42;
    io.out(`${JSON.stringify({ argv, stdin: stdin.length > 100 ? `${stdin.length} bytes` : stdin })}\n`);
  },
};

let stale = 0;
const settingsRunner = (dir: string, env: NodeJS.ProcessEnv): ActionRunner => ({
  ...runner,
  async run(action, argv, io) {
    if (action === 'where') return void io.out(`${dir}\n`);
    if (action !== 'settings') return runner.run(action, argv, io);
    io.out(`${env.DOCKVISOR_CONFIG ?? 'none'} ${env.ONE_XMLRPC ?? 'none'}\n`);
  },
});

const agent = new ActionAgent({
  version: VERSION,
  remotesDir: realpathSync(mkdirs(lib)),
  runners: { vmm: settingsRunner },
  env: { HOME: home, DOCKVISOR_CONFIG: '/etc/agent-own.conf' },
  onStale: () => (stale += 1),
});

function mkdirs(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function launcher(action: string): string {
  const path = join(remotes, 'vmm/dockvisor', action);
  if (!existsSync(path)) {
    copyFileSync(join('remotes/vmm/dockvisor/deploy'), path);
    writeFileSync(path, readFileSync(path, 'utf8').replace('dockvisor_action=deploy', `dockvisor_action=${action}`));
    chmodSync(path, 0o755);
  }
  return path;
}

function launch(action: string, argv: string[], stdin: string, env: Record<string, string> = {}) {
  const base = { PATH: '/usr/bin:/bin', HOME: home, DOCKVISOR_NODE: process.execPath, DOCKVISOR_AGENT_SOCKET: socketPath };
  return startExecutable(launcher(action), argv, stdin, { env: { ...base, ...env } });
}

const run = (action: string, argv: string[], stdin = '', env?: Record<string, string>) => collect(launch(action, argv, stdin, env));

test.before(async () => {
  mkdirs(join(remotes, 'vmm/dockvisor'));
  mkdirs(join(remotes, 'lib/dockvisor-launch'));
  for (const file of ['launch.sh', 'agent-client.py']) copyFileSync(join('remotes/lib/dockvisor-launch', file), join(remotes, 'lib/dockvisor-launch', file));
  writeFileSync(join(lib, 'VERSION'), `${VERSION}\n`);
  // What runs when the agent is not for this launcher: node with the bundle, as without an agent.
  writeFileSync(
    join(lib, 'vmm.mjs'),
    "let stdin = ''; for await (const c of process.stdin) stdin += c; process.stdout.write('alone ' + JSON.stringify({ argv: process.argv.slice(2), stdin }) + '\\n');\n",
  );
  await agent.listen(socketPath);
});

test.after.always(async () => {
  await agent.close();
  rmSync(work, { recursive: true, force: true });
});

const HOSTILE = ['a b', '$(touch /tmp/dockvisor-agent-pwned)', `"q'`, 'two\nlines', '', '*', '-e'];

test.serial('the launcher hands the action to the agent: argv word for word, stdin, stdout and exit 0', async (t) => {
  const before = agent.served.run;
  const result = await run('deploy', [...HOSTILE, '7', 'host'], '<VM><ID>7</ID></VM>');
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '');
  t.deepEqual(JSON.parse(result.stdout), { argv: [...HOSTILE, '7', 'host'], stdin: '<VM><ID>7</ID></VM>' });
  t.is(agent.served.run, before + 1);
  t.false(existsSync('/tmp/dockvisor-agent-pwned'));
});

test.serial('stdin of megabytes arrives whole', async (t) => {
  const big = 'x'.repeat(3 * 1024 * 1024);
  const result = await run('deploy', ['8', 'host'], big);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(JSON.parse(result.stdout), { argv: ['8', 'host'], stdin: `${big.length} bytes` });
});

test.serial('a failure is one line on stderr with the exit code of its kind; 42 is never passed on', async (t) => {
  const failed = await run('fail', ['9', 'host']);
  t.is(failed.code, 1);
  t.is(failed.stdout, '');
  t.is(failed.stderr, 'dockvisor fail: the document is not one\n');
  const code = await run('exit42', ['9', 'host']);
  t.is(code.code, 1);
});

test.serial('no agent listening: node runs the action itself, with the same argv and stdin', async (t) => {
  const result = await run('deploy', ['a b', '10', 'host'], 'doc', { DOCKVISOR_AGENT_SOCKET: join(work, 'none/agent.sock') });
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, `alone ${JSON.stringify({ argv: ['deploy', 'a b', '10', 'host'], stdin: 'doc' })}\n`);
  const off = await run('deploy', ['10', 'host'], 'doc', { DOCKVISOR_AGENT_SOCKET: '' });
  t.regex(off.stdout, /^alone /);
});

test.serial("the launcher's driver settings reach the runner; another HOME or SSH agent runs its own, and the agent stays", async (t) => {
  const before = { ...agent.served };
  const settings = await run('settings', ['11', 'host'], '', { DOCKVISOR_CONFIG: '/etc/other.conf', ONE_XMLRPC: 'http://one:2633/RPC2' });
  t.is(settings.stdout, '/etc/other.conf http://one:2633/RPC2\n');
  t.is((await run('settings', ['11', 'host'], '')).stdout, 'none none\n', "a setting the launcher lacks is not the agent's either");
  const home2 = await run('deploy', ['11', 'host'], 'doc', { HOME: '/nonexistent' });
  t.regex(home2.stdout, /^alone /);
  const sshAgent = await run('deploy', ['11', 'host'], 'doc', { SSH_AUTH_SOCK: '/tmp/other-agent' });
  t.regex(sshAgent.stdout, /^alone /);
  t.is(agent.served.run, before.run + 2);
  t.is(agent.served.refused, before.refused + 2);
  t.is(stale, 0);
});

test.serial('other remotes: a launcher of another version runs its own and asks the agent to make way, once per launcher', async (t) => {
  writeFileSync(join(lib, 'VERSION'), '0.1.0+newer\n');
  try {
    const result = await run('deploy', ['12', 'host'], 'doc');
    t.regex(result.stdout, /^alone /);
    t.is(stale, 1);
  } finally {
    writeFileSync(join(lib, 'VERSION'), `${VERSION}\n`);
  }
  t.is(JSON.parse((await run('deploy', ['12', 'host'], 'doc')).stdout).stdin, 'doc');
});

test.serial('a copy of the remotes of the same version runs through the agent from its own directory; of another version, by itself', async (t) => {
  const copy = join(work, 'copy');
  execFileSync('cp', ['-a', remotes, copy]);
  const where = (env: Record<string, string> = {}) =>
    collect(
      startExecutable(join(copy, 'vmm/dockvisor/where'), ['40', 'host'], '', {
        env: { PATH: '/usr/bin:/bin', HOME: home, DOCKVISOR_NODE: process.execPath, DOCKVISOR_AGENT_SOCKET: socketPath, ...env },
      }),
    );
  launcher('where');
  execFileSync('cp', ['-a', join(remotes, 'vmm/dockvisor/where'), join(copy, 'vmm/dockvisor/where')]);
  t.is((await where()).stdout, `${realpathSync(join(copy, 'lib/dockvisor'))}\n`);
  writeFileSync(join(copy, 'lib/dockvisor/VERSION'), '0.0.9+older\n');
  t.regex((await where()).stdout, /^alone /);
  t.is(stale, 1, 'only a launcher of its own tree makes it step down');
});

test.serial("actions of one VM run one after the other, of two VMs side by side; a killed launcher's action finishes first", async (t) => {
  const first = gate('20');
  const killed = launch('deploy', ['20', 'host'], 'first');
  await first.started;
  const other = await run('deploy', ['21', 'host'], 'other VM');
  t.is(other.code, 0, 'another VM is not held up');
  killed.kill('SIGKILL');
  const retry = collect(launch('deploy', ['20', 'host'], 'retry'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.false(calls.includes('deploy 20 end'));
  t.is(calls.filter((call) => call === 'deploy 20 start').length, 1, 'the retry waits for the try it replaces');
  gates.delete('20');
  first.open();
  const retried = await retry;
  t.is(retried.code, 0, retried.stderr);
  t.deepEqual(
    calls.filter((call) => call.startsWith('deploy 20')),
    ['deploy 20 start', 'deploy 20 end', 'deploy 20 start', 'deploy 20 end'],
  );
});

test.serial('a client that does not speak the protocol is cut off, and the agent goes on', async (t) => {
  const closed = await new Promise<boolean>((resolve) => {
    const client = connect(socketPath, () => client.write(Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff])));
    client.on('close', () => resolve(true));
    client.on('error', () => undefined);
  });
  t.true(closed);
  t.is((await run('deploy', ['30', 'host'], 'after')).code, 0);
});

test.serial('the socket is in a directory only its user enters', (t) => {
  t.is(statSync(join(work, 'agent')).mode & 0o777, 0o700);
});

test.serial('an agent that takes the connection and never answers: the launcher runs its own', async (t) => {
  const silent: Server = createServer(() => undefined);
  const silentPath = join(work, 'silent/agent.sock');
  mkdirs(join(work, 'silent'));
  await new Promise<void>((resolve) => silent.listen(silentPath, () => resolve()));
  try {
    const result = await run('deploy', ['31', 'host'], 'doc', { DOCKVISOR_AGENT_SOCKET: silentPath });
    t.regex(result.stdout, /^alone /);
  } finally {
    silent.close();
  }
});

test.serial('a launcher started with its stdio closed still gets its output and exit code', async (t) => {
  const closed = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('sh', ['-c', `exec "$0" "$@" <&- 2>&-`, launcher('deploy'), '50', 'host'], {
      env: { PATH: '/usr/bin:/bin', HOME: home, DOCKVISOR_NODE: process.execPath, DOCKVISOR_AGENT_SOCKET: socketPath },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
  t.is(closed.code, 0);
  t.deepEqual(JSON.parse(closed.out), { argv: ['50', 'host'], stdin: '' });
});

/** A raw client on the agent's socket: the frames it sends, and whether the agent closed the connection. */
function rawClient(frames: Buffer[], waitMs = 300): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const reader = new FrameReader(1024 * 1024);
    let answer = '';
    let closed = false;
    const client = connect(socketPath, () => {
      for (const each of frames) client.write(each);
    });
    client.on('data', (chunk: Buffer) => {
      for (const { type, payload } of reader.push(chunk)) if (type === Frame.ANSWER) answer = payload.toString();
    });
    client.on('close', () => (closed = true));
    client.on('error', () => undefined);
    setTimeout(() => {
      client.destroy();
      resolve({ answer, closed });
    }, waitMs);
  });
}

const request = (vmId: string, env: Record<string, string> = { HOME: home }) =>
  frame(Frame.REQUEST, requestPayload({ version: VERSION, remotesDir: realpathSync(lib), bundle: 'vmm', action: 'deploy', env, argv: [vmId, 'host'] }));

test.serial('a refused request does not run on a GO sent after the answer', async (t) => {
  const before = agent.served.run;
  const refused = await rawClient([request('60', { HOME: '/elsewhere' }), frame(Frame.GO), frame(Frame.STDIN_END)]);
  t.regex(refused.answer, /^other /);
  t.true(refused.closed);
  t.is(agent.served.run, before);
  t.false(calls.includes('deploy 60 start'));
});

test.serial("stdin cut short by the launcher's death is not taken as the input; a queued action whose launcher died does not run", async (t) => {
  const cut = await rawClient([request('61'), frame(Frame.GO), frame(Frame.STDIN, 'half a docu')], 100);
  t.is(cut.answer, 'run');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.false(calls.includes('deploy 61 start'), 'the runner never saw its input end');

  const first = gate('62');
  const held = launch('deploy', ['62', 'host'], 'first');
  await first.started;
  const queued = await rawClient([request('62'), frame(Frame.GO), frame(Frame.STDIN_END)], 100);
  t.is(queued.answer, 'run');
  await new Promise((resolve) => setTimeout(resolve, 100)); // the agent, in this process, sees that client go
  gates.delete('62');
  first.open();
  t.is((await collect(held)).code, 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.deepEqual(
    calls.filter((call) => call.startsWith('deploy 62')),
    ['deploy 62 start', 'deploy 62 end'],
    'the queued one, whose client left while it waited, never ran',
  );
});

test.serial('a file that is not a socket where the agent would listen is left alone, and the agent does not start', async (t) => {
  const path = join(work, 'taken/agent.sock');
  mkdirs(join(work, 'taken'));
  writeFileSync(path, 'not a socket\n');
  const other = new ActionAgent({ version: VERSION, remotesDir: realpathSync(lib), runners: {}, env: { HOME: home } });
  await t.throwsAsync(other.listen(path), { message: `${path} is there and is not a socket; left alone` });
  t.is(readFileSync(path, 'utf8'), 'not a socket\n');
});
