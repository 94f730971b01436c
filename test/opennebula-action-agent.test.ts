import test from 'ava';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, linkAlias, linkExists } from './helpers/net.ts';
import { testIds } from './helpers/test-ids.ts';
import type { TestUser } from './helpers/test-user.ts';
import { installedHost, type InstalledHost } from './helpers/installed-host.ts';
import { collect, startExecutable } from './helpers/vmm.ts';
import { ResidentProcess } from './helpers/resident-process.ts';
import { runProbe } from './helpers/monitord-client.ts';
import { recorded } from './helpers/paths.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';

// The action agent on the real path: the remotes as `dockvisor opennebula install` places them, copied to a host as
// oned copies them (rsync -L), the agent started from that copy as the driver's non-root user, and the launchers run
// as that user with only PATH and HOME, as oned's SSH session runs them: they find the agent at its default socket.
const ids = testIds(import.meta.filename);
const ID = ids.vm(0);
const bridge = ids.bridge('0');
const USER = 'dvtagent';
let host: InstalledHost | undefined;
let user: TestUser;
let hostCopy = '';
let home = '';
let agent: ResidentProcess | undefined;

const vm = (): VmDraft => ({ id: ID, nics: [{ nicId: 0, bridge, ip: ids.address(0, 11) }], dockvisor: { CMD: 'sleep 3600' } });
const env = () => ({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home });

function launch(action: string, argv: string[], stdin: string) {
  return startExecutable(join(hostCopy, 'vmm/dockvisor', action), argv, stdin, { uid: user.uid, gid: user.gid, env: env() });
}
const run = (action: string, argv: string[], stdin: string) => collect(launch(action, argv, stdin));

/** The agent of the host's copy, as provisioning starts it: the runtime's node, agent.mjs, as the user. */
async function startAgent(): Promise<void> {
  agent = await ResidentProcess.start(join(hostCopy, 'lib/dockvisor/agent.mjs'), [], { uid: user.uid, gid: user.gid, env: env() });
}

const agentLog = () => agent?.stderr ?? '';
const servedLines = (action: string) =>
  agentLog()
    .split('\n')
    .filter((line) => line.includes(`dockvisor ${action} (vmm ${ID}): exit`));

test.before(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  deleteLink(`one-${ID}-0`);
  createBridge(bridge, ids.cidr(0, 1));
  host = installedHost(USER);
  ({ user, hostCopy } = host);
  home = join(host.work, 'home');
  mkdirSync(home);
  chownSync(home, user.uid, user.gid);
  await startAgent();
});

test.after.always(async () => {
  await agent?.stop();
  await removeContainersOf(await realEngine(), [ID]);
  deleteBridge(bridge);
  host?.cleanup();
});

test.serial("deploy, poll and terminate as the driver's user are run by the agent, with the NIC marked and plugged through sudo", async (t) => {
  const deployed = await run('deploy', deployArgv(ID), vmXml(vm()));
  t.is(deployed.stdout, `one-${ID}\n`, deployed.stderr);
  t.is(servedLines('deploy').length, 1, agentLog());
  t.is(linkAlias(`one-${ID}-0`), `dockvisor:opennebula:${ID}`);
  const polled = await run('poll', idArgv(ID), actionXml({ ...vm(), lcmState: 3 }));
  t.regex(polled.stdout, /STATE=a/, polled.stderr);
  t.is(servedLines('poll').length, 1);
  const terminated = await run('cancel', idArgv(ID), actionXml({ ...vm(), lcmState: 12 }));
  t.is(terminated.code, 0, terminated.stderr);
  t.deepEqual(await containersOf(await realEngine(), [ID]), []);
  t.false(linkExists(`one-${ID}-0`));
  t.is(servedLines('cancel').length, 1);
});

test.serial('exec through the agent: the watcher is the VMM bundle of the copy, and the probe reports the command', async (t) => {
  t.is((await run('deploy', deployArgv(ID), vmXml(vm()))).code, 0);
  const document = actionXml({
    ...vm(),
    lcmState: 3,
    extraTemplate: '<QEMU_GA_EXEC><COMMAND><![CDATA[hostname]]></COMMAND><STDIN><![CDATA[]]></STDIN></QEMU_GA_EXEC>',
  });
  const ran = await run('exec', [String(ID), 'localhost', 'hostname'], document);
  t.is(ran.code, 0, ran.stderr);
  t.is(servedLines('exec').length, 1);
  const probe = join(hostCopy, 'im/dockvisor-probes.d/vm/execution/dockvisor_execution.sh');
  let line: string | undefined;
  for (let waited = 0; !line && waited < 15_000; waited += 200) {
    const result = await runProbe(probe, readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8'), { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, '1', user);
    line = result.stdout.split('\n').find((l) => l.includes(`ID="${ID}"`));
    if (!line) await sleep(200);
  }
  t.regex(line ?? '', /STATUS="DONE", RETURN_CODE="0"/);
  t.is((await run('cancel', idArgv(ID), actionXml({ ...vm(), lcmState: 12 }))).code, 0);
});

test.serial('a launcher killed during its deploy: the deploy finishes in the agent, and the retry oned makes then finds the VM running', async (t) => {
  const killed = launch('deploy', deployArgv(ID), vmXml(vm()));
  await sleep(150);
  killed.kill('SIGKILL');
  const retried = await run('deploy', deployArgv(ID), vmXml(vm()));
  t.is(retried.stdout, `one-${ID}\n`, retried.stderr);
  const engine = await realEngine();
  t.deepEqual(await containersOf(engine, [ID]), [`one-${ID}`]);
  t.true((await engine.inspectContainer(`one-${ID}`)).State.Running);
  t.is(linkAlias(`one-${ID}-0`), `dockvisor:opennebula:${ID}`);
  t.is((await run('cancel', idArgv(ID), actionXml({ ...vm(), lcmState: 12 }))).code, 0);
  t.deepEqual(await containersOf(engine, [ID]), []);
});

test.serial('newer remotes synced over the copy: the first launcher runs node itself and the agent steps down', async (t) => {
  const version = join(hostCopy, 'lib/dockvisor/VERSION');
  const older = readFileSync(version, 'utf8');
  const servedBefore = servedLines('deploy').length;
  writeFileSync(version, `${older.trim()}-newer\n`);
  try {
    const deployed = await run('deploy', deployArgv(ID), vmXml(vm()));
    t.is(deployed.stdout, `one-${ID}\n`, deployed.stderr);
    await agent!.exited();
    t.is(agent!.child.exitCode, 0, agentLog());
    t.regex(agentLog(), /stepping down for the new version/);
    t.is(servedLines('deploy').length, servedBefore, 'the deploy of newer remotes was not the agent’s');
    t.is((await run('cancel', idArgv(ID), actionXml({ ...vm(), lcmState: 12 }))).code, 0);
  } finally {
    writeFileSync(version, older);
  }
});
