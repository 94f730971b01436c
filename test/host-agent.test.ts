import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sshOptions } from '../drivers/hosts/host-connection.ts';
import { HostStore, type HostRecord } from '../drivers/hosts/host-store.ts';
import { SshSession } from '../drivers/hosts/ssh-session.ts';
import { provisionHost } from '../drivers/machine/provisioner.ts';
import { agentStopScript } from '../drivers/machine/provision/agent-removal.ts';
import { agentStep } from '../drivers/machine/provision/agent-step.ts';
import { silentProgress } from '../drivers/machine/provision/progress.ts';
import { SYSTEM_RUNTIME_DIR } from '../drivers/runtime/runtime.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { repoRoot, stateDir } from './helpers/paths.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

// A netns host reached over SSH (it shares this machine's files and users, and has no systemd): the agent step
// before and after a remotes tree arrives in the host's remotes directory as `onehost sync` puts it there, a VMM
// launcher run as the driver user served by the agent, the step-down on newer remotes and purge's stop.
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const host = new TestHost('dvt-hag', ids.address(0, 11), bridge, undefined);
const USER = 'dvthag';
const HOME = `/home/${USER}`;
const remotesDir = '/var/tmp/dvt-hag-one';
const work = join(stateDir, 'host-agent');
const store = new HostStore(join(work, 'hosts'));
const connect = { knownHostsFile: join(work, 'known_hosts'), acceptNewHostKey: true };
const node = `${SYSTEM_RUNTIME_DIR}/bin/node`;
const plan = { user: USER, node, script: `${remotesDir}/lib/dockvisor/agent.mjs` };
const log = `${HOME}/.dockvisor/agent.log`;
const socket = `${HOME}/.dockvisor/vmm-agent.sock`;
/** Not a unit of this machine's: the netns host has no systemd, and the stop must not touch a real one. */
const noUnit = join(work, 'no-such.service');

function forget(): void {
  execFileSync('sh', ['-c', agentStopScript(plan, noUnit)]);
  execFileSync('sh', ['-c', `userdel -r ${USER} 2>/dev/null; true`]);
  rmSync(remotesDir, { recursive: true, force: true });
}

/** The remotes as `onehost sync` places them: rsync'ed whole, owned by the driver user. */
function syncRemotes(): void {
  execFileSync('rsync', ['-a', '--delete', `${join(repoRoot, 'remotes')}/`, `${remotesDir}/`]);
  execFileSync('chown', ['-R', `${USER}:${USER}`, remotesDir]);
}

async function provision(): Promise<HostRecord['steps'][string]> {
  await provisionHost(store, 'hag', connect, silentProgress, undefined, [agentStep]);
  return store.get('hag').steps.agent!;
}

let session: SshSession;

/** A VMM action's launcher run on the host as the driver user, as oned runs it: through SSH, with the user's HOME. */
async function launch(action: string, ...args: string[]) {
  const asUser = `setpriv --reuid=${USER} --regid=${USER} --init-groups -- env -i HOME=${HOME} PATH=/usr/bin:/bin`;
  return session.run(`${asUser} ${remotesDir}/vmm/dockvisor/${action} ${args.join(' ')} </dev/null`);
}

async function logSays(pattern: RegExp): Promise<string> {
  for (let tries = 0; tries < 100; tries += 1, await sleep(100)) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (pattern.test(text)) return text;
  }
  return readFileSync(log, 'utf8');
}

test.before(async () => {
  if (!existsSync(join(repoRoot, 'remotes/lib/dockvisor/agent.mjs'))) throw new Error('no remotes/lib/dockvisor/agent.mjs: run node scripts/build.mjs first');
  if (!existsSync(node)) throw new Error(`no ${node}: dockvisor's runtime is not installed on this machine`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  forget();
  execFileSync('useradd', ['--system', '--create-home', '--home-dir', HOME, '--shell', '/bin/sh', USER]);
  createBridge(bridge, ids.cidr(0, 1));
  await host.start();
  writeFileSync(join(work, 'id_ed25519'), host.ssh.privateKey, { mode: 0o600 });
  const now = new Date().toISOString();
  store.save({
    name: 'hag',
    ssh: { user: 'root', address: host.address, port: 22, identityFile: join(work, 'id_ed25519') },
    steps: {},
    oneUser: USER,
    remotesDir,
    opennebula: null,
    createdAt: now,
    updatedAt: now,
  });
});

test.after.always(async () => {
  session?.close();
  forget();
  await host.stop();
  deleteBridge(bridge);
});

test.serial('before the remotes arrive the step only says when the agent starts; once they are there it starts it as the user', async (t) => {
  t.like(await provision(), {
    done: true,
    changed: false,
    detail: 'starts once the remotes are on the host (`onehost sync`); until then the launchers run node themselves',
  });
  syncRemotes();
  const version = readFileSync(`${remotesDir}/lib/dockvisor/VERSION`, 'utf8').trim();
  t.like(await provision(), { done: true, changed: true, detail: `an agent of remotes ${version} answers on ${socket}` });
  const dir = statSync(`${HOME}/.dockvisor`);
  t.is(dir.mode & 0o777, 0o700);
  t.is(dir.uid, Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })));
  t.is(statSync(log).uid, dir.uid, 'the log is the user’s own');
  t.like(await provision(), { done: true, changed: false }, 'a running agent of these remotes is left alone');
  session = await SshSession.connect({ user: 'root', address: host.address, port: 22 }, sshOptions(store.get('hag'), connect));
});

test.serial(
  'after newer remotes arrive, their first launcher makes the agent step down and runs its action itself; provision starts the new one',
  async (t) => {
    writeFileSync(`${remotesDir}/lib/dockvisor/VERSION`, '0.1.0+hagnewer\n');
    const alone = await launch('poll', 'one-8800', 'hag', '8800', 'hag');
    t.regex(alone.stderr, /dockvisor poll: the VMM_DRIVER_ACTION_DATA document is not well-formed XML/);
    t.regex(
      await logSays(/stepping down/),
      /launchers of other remotes arrived; stepping down for the new version\n.*stopped after 0 actions \(1 launchers sent to run their own\)/,
    );
    t.like(await provision(), { done: true, changed: true, detail: `an agent of remotes 0.1.0+hagnewer answers on ${socket}` });
  },
);

test.serial('a VMM launcher run as the user is served by the agent; the purge stop signals only it, and it says what it ran', async (t) => {
  for (let run = 0; run < 2; run += 1) {
    const served = await launch('poll', 'one-8801', 'hag', '8801', 'hag');
    t.not(served.code, 0);
    t.regex(served.stderr, /dockvisor poll: the VMM_DRIVER_ACTION_DATA document is not well-formed XML/);
  }
  const stopped = await session.must(agentStopScript(plan, noUnit));
  t.regex(stopped, /^pid \d+\n$/);
  t.regex(await logSays(/stopped after 2 actions/), /stopped after 2 actions \(0 launchers sent to run their own\)\n$/);
  t.false(existsSync(socket), 'the socket went with it');
  const alone = await launch('poll', 'one-8802', 'hag', '8802', 'hag');
  t.regex(alone.stderr, /not well-formed XML/, 'without the agent the launcher runs node itself');
});
