import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, linkAlias, linkExists, runInside } from './helpers/net.ts';
import { testIds } from './helpers/test-ids.ts';
import type { TestUser } from './helpers/test-user.ts';
import { installedHost, type InstalledHost } from './helpers/installed-host.ts';
import { collect, startExecutable } from './helpers/vmm.ts';
import { runProbe } from './helpers/monitord-client.ts';
import { recorded } from './helpers/paths.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';

// The real path: the driver as `dockvisor opennebula install` places it, copied to a host as oned copies it
// (rsync -L), run by a non-root user in the engine's group with provisioning's sudo rule, as oneadmin runs it.
const ids = testIds(import.meta.filename);
const ID = ids.vm(0);
const bridge = ids.bridge('0');
const USER = 'dvtoneh';
let host: InstalledHost | undefined;
let user: TestUser;
let work = '';
let hostCopy = '';
let mountRoot = '';

const vm = (): VmDraft => ({
  id: ID,
  nics: [{ nicId: 0, bridge, ip: ids.address(0, 11) }],
  dockvisor: { CMD: 'sleep 3600', MOUNTS: `${mountRoot}/data:/data:ro` },
});

function runAsUser(action: string, argv: string[], stdin: string) {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  return collect(startExecutable(join(hostCopy, 'vmm/dockvisor', action), argv, stdin, { uid: user.uid, gid: user.gid, env }));
}

test.before(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  deleteLink(`one-${ID}-0`);
  createBridge(bridge, ids.cidr(0, 1));
  host = installedHost(USER, (work) => ({ allow: { hostMountRoots: [join(work, 'shared')] } }));
  ({ user, work, hostCopy } = host);
  mountRoot = join(work, 'shared');
  mkdirSync(join(mountRoot, 'data'), { recursive: true });
  writeFileSync(join(mountRoot, 'data', 'hello'), 'mounted for oneadmin\n');
});

test.after.always(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  deleteBridge(bridge);
  host?.cleanup();
});

test.serial("as oneadmin, from the installed and copied remotes: a NIC marked as the VM's and a checked host mount, through sudo", async (t) => {
  const deployed = await runAsUser('deploy', deployArgv(ID), vmXml(vm()));
  t.is(deployed.stdout, `one-${ID}\n`, deployed.stderr);
  t.is(linkAlias(`one-${ID}-0`), `dockvisor:opennebula:${ID}`);
  const pid = (await (await realEngine()).inspectContainer(`one-${ID}`)).State.Pid;
  t.is(runInside(pid, 'cat', '/data/hello'), 'mounted for oneadmin\n');

  const terminated = await runAsUser('cancel', idArgv(ID), actionXml({ ...vm(), lcmState: 12 }));
  t.is(terminated.code, 0, terminated.stderr);
  t.deepEqual(await containersOf(await realEngine(), [ID]), []);
  t.false(linkExists(`one-${ID}-0`));
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(work, 'var-tmp')), 'the staged mount is gone');
});

/** The vm/execution probe as monitord's client runs it on the host, as the driver user. */
async function executions(): Promise<string> {
  const probe = join(hostCopy, 'im/dockvisor-probes.d/vm/execution/dockvisor_execution.sh');
  const result = await runProbe(probe, readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8'), { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, '1', user);
  if (result.code !== 0) throw new Error(`vm/execution: ${result.stderr}`);
  return result.stdout;
}

async function reported(): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const line = (await executions()).split('\n').find((l) => l.includes(`ID="${ID}"`));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('vm/execution never reported the command');
}

test.serial('as oneadmin, from the copied remotes: exec runs in the VM, the probe reports it, exec_cancel kills through sudo', async (t) => {
  const deployed = await runAsUser('deploy', deployArgv(ID), vmXml(vm()));
  t.is(deployed.code, 0, deployed.stderr);
  const document = (command: string) =>
    actionXml({ ...vm(), lcmState: 3, extraTemplate: `<QEMU_GA_EXEC><COMMAND><![CDATA[${command}]]></COMMAND><STDIN><![CDATA[]]></STDIN></QEMU_GA_EXEC>` });
  const ran = await runAsUser('exec', [String(ID), 'localhost', 'cat /data/hello'], document('cat /data/hello'));
  t.is(ran.code, 0, ran.stderr);
  const line = await reported();
  t.regex(line, /STATUS="DONE", RETURN_CODE="0"/);
  t.is(Buffer.from(/STDOUT="([^"]*)"/.exec(line)![1]!, 'base64').toString(), 'mounted for oneadmin\n');

  t.is((await runAsUser('exec', [String(ID), 'localhost', 'sleep 300'], document('sleep 300'))).code, 0);
  const cancelled = await runAsUser('exec_cancel', [String(ID), 'localhost'], actionXml({ ...vm(), lcmState: 3 }));
  t.is(cancelled.code, 0, cancelled.stderr);
  t.regex(await reported(), /RETURN_CODE="137"/);

  const terminated = await runAsUser('cancel', idArgv(ID), actionXml({ ...vm(), lcmState: 12 }));
  t.is(terminated.code, 0, terminated.stderr);
});
