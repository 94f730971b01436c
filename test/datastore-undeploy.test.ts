import test from 'ava';
import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../drivers/images/registry/registry-client.ts';
import { execIn, runTm, tmConfigFor } from './helpers/datastore.ts';
import { DATASTORE_REGISTRY, DatastoreRig, diskPath, sysDir, vmDirPath } from './helpers/datastore-rig.ts';
import { deleteLink, linkExists } from './helpers/net.ts';
import { recorded } from './helpers/paths.ts';
import type { TestHost } from './helpers/test-host.ts';
import { actionXml, deployArgv, idArgv, vmXml, type DiskDraft, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// `onevm undeploy` and `onevm stop` move the VM's directory to the front-end and resume moves it back (recorded
// from OpenNebula 7.4 with the front-end named `vm`); the VM stays parked on its host meanwhile.
const FRONT_END = 'vm';
const ids = testIds(import.meta.filename);
const rig = new DatastoreRig({
  name: 'wd-undeploy',
  bridge: ids.bridge(),
  subnet: ids.network(0),
  hosts: [
    { name: 'dvt-wda', engineBridge: ids.cidr(1, 1) },
    { name: 'dvt-wdb', engineBridge: ids.cidr(2, 1) },
  ],
  tmConfig: { frontEndHostname: FRONT_END },
});
const [hostA, hostB] = rig.hosts as [TestHost, TestHost];
const VMS = Array.from({ length: 8 }, (_, i) => ids.vm(i));
let registry: RegistryClient;

function cleanupHere(): void {
  for (const vid of VMS) {
    rmSync(sysDir(vid), { recursive: true, force: true });
    deleteLink(`one-${vid}-0`);
  }
  // The front-end's datastore directories the notes needed, when nothing else is in them.
  for (const dir of ['/var/lib/one/datastores/100', '/var/lib/one/datastores', '/var/lib/one']) {
    try {
      rmdirSync(dir);
    } catch {
      break;
    }
  }
}

test.before(async () => {
  cleanupHere();
  await rig.start();
  registry = new RegistryClient({ address: DATASTORE_REGISTRY, tls: false });
});
test.after.always(async () => {
  await registry?.close();
  await rig.stop();
  cleanupHere();
});

/** oned's `mv` argv as recorded for VM 520 (host `localhost`, front-end `vm`), made this VM's, host's and disk's. */
function recordedMv(file: string, host: string, vid: number, disk?: DiskDraft, frontEnd = FRONT_END): string[] {
  const [src, dst, , ds] = readFileSync(join(recorded, file), 'utf8').trim().split('\n') as [string, string, string, string];
  const place = (path: string) =>
    path
      .replace(/^localhost:/, `${host}:`)
      .replace(/^vm:/, `${frontEnd}:`)
      .replace(/\/520$/, `/${vid}${disk ? `/disk.${disk.diskId}` : ''}`);
  return [place(src), place(dst), String(vid), disk?.imageId !== undefined ? '101' : ds];
}

/** epilog_stop and prolog_resume: every disk oned's transfer handles, then the VM's directory. */
async function moveAll(file: string, host: TestHost, draft: VmDraft, frontEnd = FRONT_END, config = rig.tmConfig): Promise<void> {
  for (const disk of [...(draft.disks ?? []), undefined]) {
    const result = await runTm('mv', recordedMv(file, host.name, draft.id, disk, frontEnd), config);
    if (result.code !== 0) throw new Error(`mv ${file} of VM ${draft.id}: ${result.stderr}`);
  }
}
const undeployMoves = (host: TestHost, draft: VmDraft) => moveAll('tm-mv-undeploy.argv', host, draft);
const resumeMoves = (host: TestHost, draft: VmDraft) => moveAll('tm-mv-resume-from-undeploy.argv', host, draft);

async function vmm(action: string, host: TestHost, argv: string[], stdin: string): Promise<void> {
  const result = await rig.vmm(action, host, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
}

const nic = (vid: number) => ({ nicId: 0, bridge: rig.bridge, ip: ids.address(0, vid - ids.vm(0) + 50) });

async function imageVm(vid: number): Promise<VmDraft> {
  return { id: vid, systemTm: 'dockvisor', nics: [nic(vid)] };
}

/** A VM whose root disk comes from the datastore, with a volatile disk (a volume at /media/sdc). */
async function datastoreVm(vid: number, withNic = false): Promise<VmDraft> {
  const root = { diskId: 0, source: await rig.image(8310), tmMad: 'dockvisor', imageId: 8310 };
  return { id: vid, systemTm: 'dockvisor', nics: withNic ? [nic(vid)] : [], disks: [root, { diskId: 2, type: 'fs', target: 'sdc' }] };
}

async function boot(host: TestHost, draft: VmDraft): Promise<void> {
  if (draft.disks?.some((disk) => disk.type === 'fs')) await rig.tm('mkimage', '64', 'raw', diskPath(host.name, draft.id, 2), String(draft.id), '100');
  if (draft.disks?.length) await rig.tm('clone', draft.disks[0]!.source!, diskPath(host.name, draft.id, 0), String(draft.id), '101');
  await rig.context(host.name, draft.id);
  await vmm('deploy', host, deployArgv(draft.id), vmXml(draft));
  const files = draft.disks?.length ? '/written /media/sdc/f' : '/written';
  execIn(host.engine.socket, `one-${draft.id}`, 'sh', '-c', `for f in ${files}; do echo kept > $f; done`);
}

async function written(host: TestHost, draft: VmDraft): Promise<string> {
  return execIn(host.engine.socket, `one-${draft.id}`, 'cat', '/written', ...(draft.disks?.length ? ['/media/sdc/f'] : []));
}

async function containerState(host: TestHost, vid: number): Promise<string | undefined> {
  const engine = host.engine.client();
  try {
    return (await engine.findContainer(`one-${vid}`))?.State.Status;
  } finally {
    await engine.close();
  }
}

const note = (vid: number) => join(sysDir(vid), 'dockvisor-parked-on');

async function terminate(host: TestHost, draft: VmDraft): Promise<void> {
  await vmm('shutdown', host, idArgv(draft.id), actionXml({ ...draft, lcmState: 12 }));
  for (const disk of draft.disks ?? []) await rig.tm('delete', diskPath(host.name, draft.id, disk.diskId), String(draft.id), disk.imageId ? '101' : '100');
  await rig.tm('delete', vmDirPath(host.name, draft.id), String(draft.id), '100');
}

test.serial('undeploy keeps a VM parked on its host with its data, and resume there brings it back with its NIC', async (t) => {
  const draft = await imageVm(8300);
  await boot(hostA, draft);
  await vmm('shutdown', hostA, idArgv(8300), actionXml({ ...draft, lcmState: 29 }));
  await undeployMoves(hostA, draft);
  t.is(await containerState(hostA, 8300), 'exited', 'the container stays, stopped');
  t.false(linkExists('one-8300-0'), 'its NIC is unplugged');
  t.deepEqual(await rig.leftovers(hostA, 8300), ['container one-8300', 'one-8300-context']);
  t.is(readFileSync(note(8300), 'utf8'), 'dvt-wda\n', 'the front-end notes where the VM is parked');

  await resumeMoves(hostA, draft);
  t.false(existsSync(sysDir(8300)), 'the VM is no longer on the front-end');
  await rig.context(hostA.name, 8300);
  await vmm('deploy', hostA, deployArgv(8300), vmXml({ ...draft, lcmState: 32 }));
  t.is(await written(hostA, draft), 'kept\n');
  t.true(linkExists('one-8300-0'));
  await terminate(hostA, draft);
  t.deepEqual(await rig.leftovers(hostA, 8300), []);
});

test.serial('stop parks a paused VM stopped on its host with its root disk and volume; resume restores it there', async (t) => {
  const draft = await datastoreVm(8301, true);
  await boot(hostA, draft);
  const checkpoint = `${sysDir(8301)}/checkpoint`;
  await vmm('save', hostA, ['one-8301', checkpoint, 'localhost', '8301', 'localhost'], actionXml({ ...draft, lcmState: 5 }));
  await undeployMoves(hostA, draft);
  t.is(await containerState(hostA, 8301), 'exited', 'parked: stopped, not frozen in memory');
  t.false(linkExists('one-8301-0'));
  t.deepEqual(await registry.listTags('dockvisor/vm-8301'), [], 'nothing was pushed');

  await resumeMoves(hostA, draft);
  await rig.context(hostA.name, 8301);
  await vmm('restore', hostA, [checkpoint, 'localhost', 'one-8301', '8301', 'localhost'], actionXml({ ...draft, lcmState: 22 }));
  t.is(await written(hostA, draft), 'kept\nkept\n');
  t.true(linkExists('one-8301-0'));
  await terminate(hostA, draft);
  t.deepEqual(await rig.leftovers(hostA, 8301), []);
});

test.serial('undeploy --hard, then resume on another host: the VM moves there through the registry with its data', async (t) => {
  const draft = await datastoreVm(8302);
  await boot(hostA, draft);
  await vmm('cancel', hostA, idArgv(8302), actionXml({ ...draft, lcmState: 29 }));
  await undeployMoves(hostA, draft);
  t.is(await containerState(hostA, 8302), 'exited');

  await resumeMoves(hostB, draft);
  t.deepEqual(await rig.leftovers(hostA, 8302), [], 'nothing of the VM is left on the host it was parked on');
  await rig.context(hostB.name, 8302);
  await vmm('deploy', hostB, deployArgv(8302), vmXml({ ...draft, lcmState: 32 }));
  t.is(await written(hostB, draft), 'kept\nkept\n');
  t.deepEqual(await registry.listTags('dockvisor/vm-8302'), [], 'the migration images are gone from the registry');
  await terminate(hostB, draft);
  t.deepEqual(await rig.leftovers(hostB, 8302), []);
});

test.serial('stop, then resume on another host: restore makes the container there from the moved disks', async (t) => {
  const draft = await datastoreVm(8303);
  await boot(hostA, draft);
  const checkpoint = `${sysDir(8303)}/checkpoint`;
  await vmm('save', hostA, ['one-8303', checkpoint, 'localhost', '8303', 'localhost'], actionXml({ ...draft, lcmState: 5 }));
  await undeployMoves(hostA, draft);
  await resumeMoves(hostB, draft);
  await rig.context(hostB.name, 8303);
  await vmm('restore', hostB, [checkpoint, 'localhost', 'one-8303', '8303', 'localhost'], actionXml({ ...draft, lcmState: 22 }));
  t.is(await written(hostB, draft), 'kept\nkept\n');
  t.deepEqual(await rig.leftovers(hostA, 8303), []);
  await terminate(hostB, draft);
  t.deepEqual(await rig.leftovers(hostB, 8303), []);
});

test.serial('terminate of an undeployed VM removes it from the host it is parked on', async (t) => {
  const draft = await datastoreVm(8304);
  await boot(hostA, draft);
  await vmm('shutdown', hostA, idArgv(8304), actionXml({ ...draft, lcmState: 29 }));
  await undeployMoves(hostA, draft);
  // oned's epilog for a VM it keeps on the front-end: every path names the front-end.
  for (const disk of draft.disks!) await rig.tm('delete', diskPath(FRONT_END, 8304, disk.diskId), '8304', disk.imageId ? '101' : '100');
  await rig.tm('delete', vmDirPath(FRONT_END, 8304), '8304', '100');
  t.deepEqual(await rig.leftovers(hostA, 8304), []);
  t.false(existsSync(sysDir(8304)), 'the note is gone with the VM');
});

test.serial('the front-end is this machine by its host name when the transfer config does not name it', async (t) => {
  const draft = await imageVm(8305);
  await boot(hostA, draft);
  await vmm('shutdown', hostA, idArgv(8305), actionXml({ ...draft, lcmState: 29 }));
  const config = tmConfigFor(rig.hosts, 'wd-undeploy-default');
  await moveAll('tm-mv-undeploy.argv', hostA, draft, hostname(), config);
  t.is(await containerState(hostA, 8305), 'exited');
  t.is(readFileSync(note(8305), 'utf8'), 'dvt-wda\n');
  await moveAll('tm-mv-resume-from-undeploy.argv', hostA, draft, hostname(), config);
  await rig.context(hostA.name, 8305);
  await vmm('deploy', hostA, deployArgv(8305), vmXml({ ...draft, lcmState: 32 }));
  t.is(await written(hostA, draft), 'kept\n');
  await terminate(hostA, draft);
});

test.serial("a move to the front-end that does not name the VM's directory is refused and leaves the VM running", async (t) => {
  const draft = await imageVm(8306);
  await boot(hostA, draft);
  const result = await rig.runTm('mv', `${hostA.name}:/etc`, `${FRONT_END}:/etc`, '8306', '100');
  t.is(result.code, 1);
  t.regex(result.stderr, /is not the directory of VM 8306/);
  t.is(await containerState(hostA, 8306), 'running');
  await terminate(hostA, draft);
});
