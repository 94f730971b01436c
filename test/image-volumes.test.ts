import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { auth, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { execIn, runDs, saveImage, TARBALL_DIR } from './helpers/datastore.ts';
import { DATASTORE_REGISTRY, DatastoreRig, diskPath, sysDir, vmDirPath } from './helpers/datastore-rig.ts';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { probesRoot, runProbe } from './helpers/monitord-client.ts';
import { BASE_IMAGE, ENGINE_SOCKET, recorded, stateDir } from './helpers/paths.ts';
import type { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';
import { runAction, testConfigPath, type ActionResult } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';

// An image's VOLUME paths are disks of the VM: kept while it lives, gone when it is terminated, carried by
// save-back and cold migration. Through the real executables, the compute service and the local engine.

const ids = testIds(import.meta.filename);
const IMAGE = 'dvt-image-volumes/app:1';
const TARBALL = join(TARBALL_DIR, 'image-volumes.tar');
const IMAGE_ID = ids.vm(19); // the datastore image, numbered from the file's range
const VMS = Array.from({ length: 12 }, (_, i) => ids.vm(i));
const FOREIGN = `one-${ids.vm(1)}-vol-0`;
const uuids = uuidMaker(ids.uuidPrefix);
const rig = new DatastoreRig({
  name: 'image-volumes',
  bridge: ids.bridge(),
  subnet: ids.network(0),
  hosts: [
    { name: 'dvt-iva', engineBridge: ids.cidr(1, 1) },
    { name: 'dvt-ivb', engineBridge: ids.cidr(2, 1) },
  ],
  tmConfig: { frontEndHostname: 'vm' },
});
const [hostA, hostB] = rig.hosts as [TestHost, TestHost];
let compute: TestCompute;
let imageSource = '';

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

async function cleanup(): Promise<void> {
  const engine = await realEngine();
  try {
    await removeContainersOf(engine, VMS);
    await removeInstances(engine, uuids.prefix);
    for (const volume of await engine.listVolumes([])) {
      if (VMS.some((vid) => volume.startsWith(`one-${vid}-`)) || volume.startsWith(`nova-${uuids.prefix}`)) await engine.removeVolume(volume);
    }
  } finally {
    await engine.close();
  }
  for (const vid of VMS) rmSync(sysDir(vid), { recursive: true, force: true });
}

test.before(async () => {
  await cleanup();
  // A seed file in /data shows the engine still fills a new volume from the image, as it did an anonymous one.
  execFileSync('docker', ['build', '--network', 'none', '-q', '-t', IMAGE, '-'], {
    input: `FROM ${BASE_IMAGE}\nRUN mkdir -p /data && echo seed > /data/seed\nVOLUME /data /var/lib/app\n`,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  compute = await testCompute({ config: testConfigPath({ imagePull: 'never', shutdownTimeoutSeconds: 3 }, 'image-volumes-nova.json') });
});

test.after.always(async () => {
  await compute?.close();
  if (imageSource) await runDs('rm', { imageId: IMAGE_ID, registry: DATASTORE_REGISTRY, source: imageSource });
  if (rig.tmConfig) await rig.stop();
  await cleanup();
  rmSync(TARBALL, { force: true });
  docker('rmi', '-f', IMAGE);
});

const vm = (id: number, extra: Partial<VmDraft> = {}): VmDraft => ({ id, dockvisor: { IMAGE }, ...extra });

async function ok(action: string, argv: string[], stdin: string, config?: string): Promise<string> {
  const result = await runAction(action, argv, stdin, config);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
  return result.stdout;
}

const volumesOf = (prefix: string) =>
  docker('volume', 'ls', '-q', '--filter', 'label=io.dockvisor.image-volume')
    .split('\n')
    .filter((name) => name.startsWith(prefix));
const readData = (socket: string, container: string) => execIn(socket, container, 'cat', '/data/f', '/var/lib/app/g');
const writeData = (socket: string, container: string, text: string) =>
  execIn(socket, container, 'sh', '-c', `echo ${text} > /data/f && echo ${text} > /var/lib/app/g`);

test.serial('OpenNebula: data in the image VOLUMEs survives poweroff, reboot, snapshot revert and undeploy, and terminate removes it', async (t) => {
  const vid = ids.vm(0);
  const draft = vm(vid);
  t.is((await ok('deploy', deployArgv(vid), vmXml(draft))).trim(), `one-${vid}`);
  t.deepEqual(volumesOf(`one-${vid}-`), [`one-${vid}-vol-0`, `one-${vid}-vol-1`]);
  const labels = JSON.parse(docker('volume', 'inspect', '-f', '{{json .Labels}}', `one-${vid}-vol-1`)) as Record<string, string>;
  t.like(labels, {
    'io.dockvisor.owner': 'dockvisor',
    'io.dockvisor.front-end': 'opennebula',
    'io.dockvisor.vm-id': String(vid),
    'io.dockvisor.image-volume': '/var/lib/app',
  });
  t.is(execIn(ENGINE_SOCKET, `one-${vid}`, 'cat', '/data/seed'), 'seed\n', "a new volume gets the image's files");
  writeData(ENGINE_SOCKET, `one-${vid}`, 'kept');

  await ok('shutdown', idArgv(vid), actionXml({ ...draft, lcmState: 18 }));
  await ok('deploy', deployArgv(vid), vmXml({ ...draft, lcmState: 20 }));
  t.is(readData(ENGINE_SOCKET, `one-${vid}`), 'kept\nkept\n', 'poweroff and resume');

  await ok('reboot', idArgv(vid), actionXml(draft));
  t.is(readData(ENGINE_SOCKET, `one-${vid}`), 'kept\nkept\n', 'reboot');

  await ok('snapshot_create', [`one-${vid}`, '1', String(vid), 'localhost'], actionXml(draft));
  writeData(ENGINE_SOCKET, `one-${vid}`, 'after');
  await ok('snapshot_revert', [`one-${vid}`, 'snap-1', String(vid), 'localhost'], actionXml(draft));
  t.is(readData(ENGINE_SOCKET, `one-${vid}`), 'after\nafter\n', 'the volumes are disks: a revert of the filesystem leaves them as they are');

  await ok('shutdown', idArgv(vid), actionXml({ ...draft, lcmState: 29 }));
  await ok('deploy', deployArgv(vid), vmXml({ ...draft, lcmState: 32 }));
  t.is(readData(ENGINE_SOCKET, `one-${vid}`), 'after\nafter\n', 'undeploy and resume');

  await ok('shutdown', idArgv(vid), actionXml({ ...draft, lcmState: 12 }));
  t.deepEqual(volumesOf(`one-${vid}-`), [], 'terminate removes them');
});

test.serial("a volume of that name that is not the VM's refuses the deploy in one line and is left alone", async (t) => {
  const vid = ids.vm(1);
  docker('volume', 'create', '--label', 'owner=someone-else', FOREIGN);
  const result: ActionResult = await runAction('deploy', deployArgv(vid), vmXml(vm(vid)));
  t.is(result.code, 1);
  t.is(result.stderr.trim().split('\n').length, 1);
  t.regex(
    result.stderr,
    new RegExp(`a volume named ${FOREIGN} \\(for the image's VOLUME /data\\) exists on this host but is not this VM's; it was left alone`),
  );
  await ok('cleanup', idArgv(vid), actionXml(vm(vid)));
  t.is(docker('volume', 'inspect', '-f', '{{json .Labels}}', FOREIGN).trim(), '{"owner":"someone-else"}');
  t.deepEqual(volumesOf(`one-${vid}-`), [], 'nothing of the VM was made');
  docker('volume', 'rm', FOREIGN);
});

test.serial('vm/monitor lists each image volume with its path, name and size', async (t) => {
  const vid = ids.vm(2);
  await ok('deploy', deployArgv(vid), vmXml(vm(vid)));
  execIn(ENGINE_SOCKET, `one-${vid}`, 'sh', '-c', 'head -c 3000000 /dev/zero > /data/big');
  const probeState = join(stateDir, 'probe-state-image-volumes');
  rmSync(probeState, { recursive: true, force: true });
  const env = { ...process.env, DOCKVISOR_CONFIG: testConfigPath({ stateDir: probeState }, 'probes-image-volumes.json') };
  const result = await runProbe(join(probesRoot, 'vm/monitor', 'dockvisor_usage.sh'), readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8'), env);
  t.is(result.code, 0, result.stderr);
  const line = result.stdout.split('\n').find((l) => l.includes(`ID="${vid}",`)) ?? '';
  const monitor = Buffer.from(/MONITOR="([^"]*)"/.exec(line)?.[1] ?? '', 'base64').toString();
  t.regex(monitor, new RegExp(`^IMAGE_VOLUME=\\[PATH="/data",NAME="one-${vid}-vol-0",SIZE=3\\]$`, 'm'));
  t.regex(monitor, new RegExp(`^IMAGE_VOLUME=\\[PATH="/var/lib/app",NAME="one-${vid}-vol-1",SIZE=0\\]$`, 'm'));
  await ok('shutdown', idArgv(vid), actionXml({ ...vm(vid), lcmState: 12 }));
  rmSync(probeState, { recursive: true, force: true });
});

test.serial('Nova: data in the image VOLUMEs survives power off, power on and reboot; destroy removes it', async (t) => {
  const uuid = uuids.next();
  const call = async (method: 'POST' | 'DELETE', url: string, payload?: object) => {
    const answer = await compute.app.inject({ method, url, headers: auth, payload });
    if (answer.statusCode >= 300) throw new Error(`${method} ${url}: ${answer.statusCode} ${answer.body}`);
  };
  await call('POST', '/v1/instances', spawnBody(uuid, { image: IMAGE }));
  t.deepEqual(volumesOf(`nova-${uuid}-`), [`nova-${uuid}-vol-0`, `nova-${uuid}-vol-1`]);
  writeData(ENGINE_SOCKET, `nova-${uuid}`, 'kept');
  await call('POST', `/v1/instances/${uuid}/power-off`, { timeout: 0 });
  await call('POST', `/v1/instances/${uuid}/power-on`, {});
  await call('POST', `/v1/instances/${uuid}/reboot`, { type: 'HARD' });
  t.is(readData(ENGINE_SOCKET, `nova-${uuid}`), 'kept\nkept\n');
  await call('DELETE', `/v1/instances/${uuid}`);
  t.deepEqual(volumesOf(`nova-${uuid}-`), []);
});

// The transfer actions, as oned runs them for a datastore image with VOLUMEs (moves recorded from OpenNebula 7.4,
// the front-end named `vm`): a cold migration carries the volumes to the new host, save-back into the image.

function recordedMv(file: string, host: string, vid: number, diskId?: number): string[] {
  const [src, dst, , ds] = readFileSync(join(recorded, file), 'utf8').trim().split('\n') as [string, string, string, string];
  const place = (path: string) => path.replace(/^localhost:/, `${host}:`).replace(/\/520$/, `/${vid}${diskId === undefined ? '' : `/disk.${diskId}`}`);
  return [place(src), place(dst), String(vid), diskId === undefined ? ds : '101'];
}

async function moveAll(file: string, host: TestHost, vid: number): Promise<void> {
  for (const diskId of [0, undefined]) await rig.tm('mv', ...recordedMv(file, host.name, vid, diskId));
}

const datastoreVm = (vid: number): VmDraft => ({
  id: vid,
  systemTm: 'dockvisor',
  disks: [{ diskId: 0, source: imageSource, tmMad: 'dockvisor', imageId: IMAGE_ID }],
});

async function hostOk(action: string, host: TestHost, argv: string[], stdin: string): Promise<void> {
  const result = await rig.vmm(action, host, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
}

test.serial('datastore: undeploy and resume on another host carries the volumes; save-back puts them in the image for the next VM', async (t) => {
  await rig.start();
  mkdirSync(TARBALL_DIR, { recursive: true });
  saveImage(IMAGE, TARBALL);
  const registered = await runDs('cp', { imageId: IMAGE_ID, registry: DATASTORE_REGISTRY, path: TARBALL });
  t.is(registered.code, 0, registered.stderr);
  imageSource = registered.stdout.split(' ')[0]!;

  const vid = ids.vm(10);
  const draft = datastoreVm(vid);
  t.is((await rig.boot(hostA, draft)).code, 0);
  writeData(hostA.engine.socket, `one-${vid}`, 'moved');
  execIn(hostA.engine.socket, `one-${vid}`, 'rm', '/data/seed');

  await hostOk('shutdown', hostA, idArgv(vid), actionXml({ ...draft, lcmState: 29 }));
  await moveAll('tm-mv-undeploy.argv', hostA, vid);
  await moveAll('tm-mv-resume-from-undeploy.argv', hostB, vid);
  t.deepEqual(await rig.leftovers(hostA, vid), [], 'nothing of the VM is left on the host it left');
  await rig.context(hostB.name, vid);
  await hostOk('deploy', hostB, deployArgv(vid), vmXml({ ...draft, lcmState: 32 }));
  t.is(readData(hostB.engine.socket, `one-${vid}`), 'moved\nmoved\n', 'cold migration');
  t.is(execIn(hostB.engine.socket, `one-${vid}`, 'ls', '/data'), 'f\n', 'a file deleted from a volume stays deleted');

  // Terminate of a VM with a persistent image: the container stays for mvds, which saves it back, then delete.
  await hostOk('shutdown', hostB, idArgv(vid), actionXml({ ...draft, lcmState: 12 }));
  await rig.tm('mvds', diskPath(hostB.name, vid, 0), imageSource, String(vid), '101');
  await rig.tm('delete', diskPath(hostB.name, vid, 0), String(vid), '101');
  await rig.tm('delete', vmDirPath(hostB.name, vid), String(vid), '100');
  t.deepEqual(await rig.leftovers(hostB, vid), []);

  const next = ids.vm(11);
  t.is((await rig.boot(hostA, datastoreVm(next))).code, 0);
  t.is(readData(hostA.engine.socket, `one-${next}`), 'moved\nmoved\n', 'save-back');
  t.is(execIn(hostA.engine.socket, `one-${next}`, 'ls', '/data'), 'f\n');
  await hostOk('shutdown', hostA, idArgv(next), actionXml({ ...datastoreVm(next), lcmState: 12 }));
  await rig.tm('delete', diskPath(hostA.name, next, 0), String(next), '101');
  await rig.tm('delete', vmDirPath(hostA.name, next), String(next), '100');
  t.deepEqual(await rig.leftovers(hostA, next), []);
});
