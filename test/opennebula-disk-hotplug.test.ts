import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { userStateDir } from '../drivers/core/state-dir.ts';
import { attachedDisk } from '../drivers/opennebula/disk-attach.ts';
import { parseActionData } from '../drivers/opennebula/action-data.ts';
import { checkActionArgv } from '../drivers/opennebula/vmm-argv.ts';
import { execIn, runDs } from './helpers/datastore.ts';
import { DATASTORE_REGISTRY, DatastoreRig, diskPath, sysDir } from './helpers/datastore-rig.ts';
import { recorded } from './helpers/paths.ts';
import type { TestHost } from './helpers/test-host.ts';
import { actionXml, deployArgv, idArgv, type DiskDraft, type VmDraft } from './helpers/vm-xml.ts';
import { assertOneLineRefusal, type ActionResult } from './helpers/vmm.ts';
import { vmXml } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// `onevm disk-attach` and `disk-detach` of a running VM: oned's transfer action makes the volume, then the VMM's
// attach_disk mounts it inside the running container; detach_disk unmounts it, the data staying in the volume.
const ids = testIds(import.meta.filename);
const rig = new DatastoreRig({
  name: 'hotplug',
  bridge: ids.bridge(),
  subnet: ids.network(0),
  hosts: [
    { name: 'dvt-hpa', engineBridge: ids.cidr(1, 1) },
    { name: 'dvt-hpb', engineBridge: ids.cidr(2, 1) },
  ],
});
const [hostA, hostB] = rig.hosts as [TestHost, TestHost];
const ROOT_IMAGE = ids.vm(19);
const made: { imageId: number; source: string }[] = [];
const hotplugRoot = join(userStateDir({ stateDir: '/var/tmp/dockvisor' }), 'hotplug');

test.before(async () => {
  for (let i = 0; i < 6; i++) rmSync(sysDir(ids.vm(i)), { recursive: true, force: true });
  await rig.start();
});
test.after.always(async () => {
  for (const { imageId, source } of made) await runDs('rm', { imageId, registry: DATASTORE_REGISTRY, source });
  await rig.stop();
});

async function vm(vid: number, extraDisks: DiskDraft[] = []): Promise<VmDraft> {
  const source = await rig.image(ROOT_IMAGE);
  return {
    id: vid,
    systemTm: 'dockvisor',
    dockvisor: { CMD: 'sleep infinity' },
    context: { DVT_CONTEXT: `vm-${vid}` },
    disks: [{ diskId: 0, source, tmMad: 'dockvisor', imageId: ROOT_IMAGE }, ...extraDisks],
  };
}

/** An empty datablock image of the datastore (`onevm disk-attach --image`), or the image a save-as fills. */
async function datablock(imageId: number, fs = 'ext4'): Promise<string> {
  const result = await runDs('mkfs', { imageId, registry: DATASTORE_REGISTRY, size: fs === 'save_as' ? 0 : 16, fs });
  if (result.code !== 0) throw new Error(`mkfs: ${result.stderr}`);
  const source = result.stdout.trim();
  made.push({ imageId, source });
  return source;
}

/** The recorded attach_disk argv of VM 520 (`<deploy id> <disk path> <target> <target index> <vid> <host>`), made this VM's and disk's. */
function diskArgv(vid: number, disk: DiskDraft): string[] {
  const [deployId, path, , index] = readFileSync(join(recorded, 'attach_disk-datablock.argv'), 'utf8').trim().split('\n') as [string, string, string, string];
  const target = disk.target ?? `sd${String.fromCharCode(97 + disk.diskId)}`;
  return [
    deployId.replace('520', String(vid)),
    path.replace('/520/', `/${vid}/`).replace(/disk\.1$/, `disk.${disk.diskId}`),
    target,
    index,
    String(vid),
    'localhost',
  ];
}

/** The draft as oned sends it while `disk` is being attached or detached (LCM_STATE 17, HOTPLUG). */
function hotplugging(draft: VmDraft, disk: DiskDraft): VmDraft {
  return { ...draft, lcmState: 17, disks: [...draft.disks!, { ...disk, attach: true }] };
}

async function vmm(host: TestHost, action: string, argv: string[], stdin: string): Promise<void> {
  const result = await rig.vmm(action, host, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
}

function attach(host: TestHost, draft: VmDraft, disk: DiskDraft): Promise<ActionResult> {
  return rig.vmm('attach_disk', host, diskArgv(draft.id, disk), actionXml(hotplugging(draft, disk)));
}

function detach(host: TestHost, draft: VmDraft, disk: DiskDraft): Promise<void> {
  return vmm(host, 'detach_disk', diskArgv(draft.id, disk), actionXml(hotplugging(draft, disk)));
}

function sh(host: TestHost, vid: number, script: string): string {
  return execIn(host.engine.socket, `one-${vid}`, 'sh', '-c', script);
}

const mountsAt = (host: TestHost, vid: number, path: string) =>
  sh(host, vid, 'cat /proc/mounts')
    .split('\n')
    .filter((line) => line.split(' ')[1] === path);

/** Terminate as oned does it: shutdown (12), then the transfer's delete of each disk and of the directory. */
async function terminate(t: ExecutionContext, host: TestHost, draft: VmDraft): Promise<void> {
  await vmm(host, 'shutdown', idArgv(draft.id), actionXml({ ...draft, lcmState: 12 }));
  for (const disk of draft.disks!) await rig.tm('delete', diskPath(host.name, draft.id, disk.diskId), String(draft.id), '101');
  await rig.tm('delete', `${host.name}:${sysDir(draft.id)}`, String(draft.id), '100');
  t.deepEqual(await rig.leftovers(host, draft.id), [], 'nothing of the VM is left on the host');
  t.false(readdirSync(hotplugRoot).includes(`one-${draft.id}`), 'its hot-plug directory is gone');
}

test('the recorded attach_disk argv and action data name the datablock being attached', (t) => {
  const argv = readFileSync(join(recorded, 'attach_disk-datablock.argv'), 'utf8').trim().split('\n');
  const stdin = readFileSync(join(recorded, 'attach_disk-datablock.stdin.xml'), 'utf8');
  t.notThrows(() => checkActionArgv('attach_disk', argv));
  t.notThrows(() => checkActionArgv('detach_disk', argv));
  const vm = parseActionData(stdin).vm;
  t.true(vm.spec.diskHotplug);
  t.deepEqual(attachedDisk(vm, argv, stdin), { volume: 'one-520-disk-1', containerPath: '/media/sdb', readOnly: false, optional: false });
  t.throws(() => checkActionArgv('attach_disk', argv.slice(0, 5)), { message: /expected 6 arguments/ });
  const withData = [...argv.slice(0, 4), Buffer.from(stdin).toString('base64'), ...argv.slice(4)];
  t.notThrows(() => checkActionArgv('attach_disk', withData), 'the action data as a 5th argument, as before 7.4');
  t.throws(() => checkActionArgv('attach_disk', [...argv.slice(0, 4), 'not base64!', ...argv.slice(4)]), { message: /is not base64/ });
  t.throws(() => attachedDisk(vm, [argv[0]!, argv[1]!, 'sdc', ...argv.slice(3)], stdin), { message: /is not DISK 1's TARGET/ });
});

test.serial(
  'a datablock attached to a running VM appears at its TARGET; its data survives detach, re-attach, reboot, a snapshot revert, poweroff/resume and save-as',
  async (t) => {
    const vid = ids.vm(0);
    const draft = await vm(vid);
    t.is((await rig.boot(hostA, draft)).code, 0);
    const disk: DiskDraft = { diskId: 2, source: await datablock(ids.vm(10)), tmMad: 'dockvisor', imageId: ids.vm(10), target: '/srv/data' };
    await rig.tm('clone', disk.source!, diskPath(hostA.name, vid, 2), String(vid), '101');
    const started = sh(hostA, vid, 'cat /proc/1/stat').split(' ')[21];

    const attached = await attach(hostA, draft, disk);
    t.is(attached.code, 0, attached.stderr);
    t.is(attached.stdout, '');
    t.is(mountsAt(hostA, vid, '/srv/data').length, 1, 'mounted once at its TARGET');
    sh(hostA, vid, 'echo kept > /srv/data/f');
    t.is(sh(hostA, vid, 'cat /proc/1/stat').split(' ')[21], started, 'the VM was not restarted');
    t.deepEqual(readdirSync(join(hotplugRoot, `one-${vid}`)), [], 'no host mount stays behind');

    await detach(hostA, draft, disk);
    t.deepEqual(mountsAt(hostA, vid, '/srv/data'), []);
    t.is(sh(hostA, vid, 'ls -A /srv/data'), '', 'the mount point is empty once detached');

    t.is((await attach(hostA, draft, disk)).code, 0);
    t.is(sh(hostA, vid, 'cat /srv/data/f'), 'kept\n', 'a re-attached disk has its data');
    t.is((await attach(hostA, draft, disk)).code, 0, 'attaching again is a success');
    t.is(mountsAt(hostA, vid, '/srv/data').length, 1, 'and mounts nothing twice');

    const running = { ...draft, disks: [...draft.disks!, disk] };
    await vmm(hostA, 'reboot', idArgv(vid), actionXml(running));
    t.is(sh(hostA, vid, 'cat /srv/data/f'), 'kept\n', 'a reboot keeps the attached disk');
    await vmm(hostA, 'snapshot_create', [`one-${vid}`, '0', String(vid), 'localhost'], actionXml(running));
    sh(hostA, vid, 'echo later > /srv/data/g');
    await vmm(hostA, 'snapshot_revert', [`one-${vid}`, 'snap-0', String(vid), 'localhost'], actionXml(running));
    t.is(sh(hostA, vid, 'cat /srv/data/f /srv/data/g'), 'kept\nlater\n', 'a snapshot revert keeps the disk, which is not in the snapshot');
    await vmm(hostA, 'shutdown', idArgv(vid), actionXml({ ...running, lcmState: 18 }));
    await vmm(hostA, 'deploy', deployArgv(vid), vmXml({ ...running, lcmState: 20 }));
    t.is(sh(hostA, vid, 'cat /srv/data/f'), 'kept\n', 'a resume from poweroff mounts the disk attached since the deploy');

    const saveAs = await datablock(ids.vm(11), 'save_as');
    await rig.tm('cpds', diskPath(hostA.name, vid, 2), saveAs, '2', String(vid), '101');
    await terminate(t, hostA, running);

    const fromCopy = await vm(ids.vm(1), [{ diskId: 2, source: saveAs, tmMad: 'dockvisor', imageId: ids.vm(11), target: '/srv/copy' }]);
    await rig.tm('clone', saveAs, diskPath(hostB.name, fromCopy.id, 2), String(fromCopy.id), '101');
    t.is((await rig.boot(hostB, fromCopy)).code, 0);
    t.is(sh(hostB, fromCopy.id, 'cat /srv/copy/f'), 'kept\n', 'a save-as of the attached disk holds what was written through it');
    await terminate(t, hostB, fromCopy);
  },
);

test.serial('a volatile disk attached live goes with the VM through a cold migration', async (t) => {
  const vid = ids.vm(2);
  const draft = await vm(vid);
  t.is((await rig.boot(hostA, draft)).code, 0);
  const disk: DiskDraft = { diskId: 2, type: 'fs', target: 'sdc' };
  const [size, format, path] = readFileSync(join(recorded, 'tm-mkimage-attach-volatile.argv'), 'utf8').trim().split('\n') as [string, string, string];
  t.is(path, 'localhost:/var/lib/one//datastores/100/520/disk.1');
  await rig.tm('mkimage', size, format, diskPath(hostA.name, vid, 2), String(vid), '100');

  const attached = await attach(hostA, draft, disk);
  t.is(attached.code, 0, attached.stderr);
  sh(hostA, vid, 'echo volatile > /media/sdc/f');
  await detach(hostA, draft, disk);
  t.is(sh(hostA, vid, 'ls -A /media/sdc'), '');
  t.is((await attach(hostA, draft, disk)).code, 0);
  t.is(sh(hostA, vid, 'cat /media/sdc/f'), 'volatile\n');

  const running = { ...draft, disks: [...draft.disks!, disk] };
  await vmm(hostA, 'shutdown', idArgv(vid), actionXml({ ...running, lcmState: 18 }));
  for (const [n, ds] of [
    [0, '101'],
    [1, '100'],
    [2, '100'],
  ] as const) {
    await rig.tm('mv', diskPath(hostA.name, vid, n), diskPath(hostB.name, vid, n), String(vid), ds);
  }
  await rig.tm('mv', `${hostA.name}:${sysDir(vid)}`, `${hostB.name}:${sysDir(vid)}`, String(vid), '100');
  t.deepEqual(await rig.leftovers(hostA, vid), [], 'nothing of the VM is left on host A');
  await rig.context(hostB.name, vid);
  await vmm(hostB, 'deploy', deployArgv(vid), vmXml({ ...running, lcmState: 20 }));
  t.is(sh(hostB, vid, 'cat /media/sdc/f'), 'volatile\n', 'the disk came along with its data');
  await terminate(t, hostB, running);
});

test.serial('hostile mount points are refused in one line and change nothing', async (t) => {
  const vid = ids.vm(3);
  const draft = await vm(vid);
  t.is((await rig.boot(hostA, draft)).code, 0);
  sh(hostA, vid, 'ln -s /etc /to-etc && ln -s ../../../../.. /up && mkdir -p /srv && ln -s /proc /srv/p');
  await rig.tm('mkimage', '16', 'raw', diskPath(hostA.name, vid, 2), String(vid), '100');
  const before = sh(hostA, vid, 'cat /proc/mounts; ls -A /; ls -la /etc /srv');

  const cases: [string, RegExp][] = [
    ['/to-etc', /\/to-etc is a symbolic link inside the VM/],
    ['/to-etc/x', /\/to-etc is a symbolic link inside the VM/],
    ['/up/var/lib', /\/up is a symbolic link inside the VM/],
    ['/srv/p/x', /\/srv\/p is a symbolic link inside the VM/],
    ['/proc/sys', /are not for disks/],
    ['/.dockvisor-hotplug/x', /are not for disks/],
    ['/data/../etc', /is not a plain absolute path/],
    ['/etc/hostname', /\/etc\/hostname is not a directory/],
  ];
  for (const [target, pattern] of cases) {
    const disk: DiskDraft = { diskId: 2, type: 'fs', target };
    assertOneLineRefusal(t, await attach(hostA, draft, disk), pattern);
  }
  const mismatch = await rig.vmm(
    'attach_disk',
    hostA,
    diskArgv(vid, { diskId: 2, target: 'sdz' }),
    actionXml(hotplugging(draft, { diskId: 2, type: 'fs', target: 'sdc' })),
  );
  assertOneLineRefusal(t, mismatch, /target "sdz" on the command line is not DISK 2's TARGET/);
  t.is(sh(hostA, vid, 'cat /proc/mounts; ls -A /; ls -la /etc /srv'), before, 'the VM is as it was');
  t.deepEqual(readdirSync(join(hotplugRoot, `one-${vid}`)), [], 'no host mount stays behind');
  await terminate(t, hostA, { ...draft, disks: [...draft.disks!, { diskId: 2, type: 'fs' }] });
});
