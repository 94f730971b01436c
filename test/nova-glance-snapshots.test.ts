import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadHostSettings } from '../drivers/core/host-settings.ts';
import { LABEL_VM_ID } from '../drivers/core/labels.ts';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { createHost } from '../drivers/machine/provisioner.ts';
import { silentProgress } from '../drivers/machine/provision/progress.ts';
import type { NamedHost } from '../drivers/nova/compute-hosts.ts';
import { computeApp } from '../drivers/nova/service/compute-app.ts';
import { servedHosts } from '../drivers/nova/service/served-hosts.ts';
import { instanceNames, removeInstances, TOKEN, uuidMaker } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { startGlance, type TestGlance } from './helpers/glance.ts';
import { startRegistry, type SnapshotRegistry } from './helpers/snapshot-registry.ts';
import { createBridge, deleteBridge, deleteLink, linksStartingWith } from './helpers/net.ts';
import { installShim, requirePythonNova } from './helpers/nova-shim.ts';
import { BASE_IMAGE, stateDir } from './helpers/paths.ts';
import { ShimSteps, type Seen } from './helpers/shim-steps.ts';
import { freePort } from './helpers/sshd.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

// The service manages this machine (`local`) and a netns host with its own engine (`remote`), over SSH as recorded
// by the real provisioner; the shim talks to it and to a real Glance as nova-compute would.
const ids = testIds(import.meta.filename);
const rigBridge = ids.bridge('0');
// The instances' VIFs: on the rig bridge here, on a bridge of that name's sibling inside the remote host.
const remoteVmBridge = ids.bridge('v');
const vif = (host: number): [string, string] => [rigBridge, ids.address(0, host)];
const remote = new TestHost('dvt-ngl', ids.address(0, 11), rigBridge, ids.cidr(1, 1));
const ONE_USER = 'dvtngl';
const work = join(stateDir, 'nova-glance-snapshots');
const store = new HostStore(join(work, 'config', 'dockvisor', 'hosts'));
const configPath = join(work, 'dockvisor.json');
const uuids = uuidMaker(ids.uuidPrefix);
const first = uuids.next();
const fromSnapshot = uuids.next();
const onRemote = uuids.next();
const hostile = uuids.next();
const withRegistry = uuids.next();
const fromRegistry = uuids.next();
const archives = mkdtempSync(join(tmpdir(), 'dvt-ngl-archives-'));

let glance: TestGlance | undefined;
let app: FastifyInstance | undefined;
// The same machine served with a registry, and pulls allowed: snapshots are pushed there too.
let registryApp: FastifyInstance | undefined;
let registry: SnapshotRegistry | undefined;
let serviceUrl = '';
let registryServiceUrl = '';
let hosts: NamedHost[] = [];
let registryHosts: NamedHost[] = [];
let installed: string | undefined;
let shim: ShimSteps | undefined;
let baseId = '';
let snapshot: Seen = {};

function forgetOneUser(): void {
  execFileSync('sh', ['-c', `userdel -r ${ONE_USER} 2>/dev/null; rm -f /etc/sudoers.d/dockvisor-${ONE_USER}; true`]);
}

/** Images made from this file's instances on this machine's engine: committed, or loaded from Glance. */
async function snapshotImages(): Promise<string[]> {
  const images = await (await realEngine()).listImages([LABEL_VM_ID]);
  return images.filter((image) => image.Labels?.[LABEL_VM_ID]?.startsWith(uuids.prefix)).map((image) => image.Id);
}

/** The tags the service commits `first` as, before it streams it. */
async function committedTags(): Promise<string[]> {
  return (await realEngine()).imageTags(`nova-snapshots/${first}`);
}

/** The IPv4 addresses of eth0 inside a container, seen from the host by its pid. */
function addressesOf(pid: number): string {
  return execFileSync('nsenter', [`--target=${pid}`, '--net', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
}

async function removeLeftovers(): Promise<void> {
  for (const link of linksStartingWith(`tap${ids.uuidPrefix}`)) deleteLink(link);
  const engine = await realEngine();
  await removeInstances(engine, uuids.prefix);
  for (const id of await snapshotImages()) await engine.removeImage(id).catch(() => undefined);
  const remoteEngine = remote.engine.client();
  await removeInstances(remoteEngine, uuids.prefix).catch(() => undefined);
  await remoteEngine.close();
}

/** The console of an instance once it printed its origin line. */
async function originOf(uuid: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const match = /origin (\S+)/.exec((await shim!.step('console', uuid)).console as string);
    if (match) return match[1]!;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`instance ${uuid} printed no origin`);
}

test.before(async () => {
  requirePythonNova();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  forgetOneUser();
  createBridge(rigBridge, ids.cidr(0, 1));
  await remote.start();
  execFileSync('ip', ['-n', remote.name, 'link', 'add', remoteVmBridge, 'type', 'bridge']);
  execFileSync('ip', ['-n', remote.name, 'link', 'set', remoteVmBridge, 'up']);
  const key = join(work, 'id_ed25519');
  writeFileSync(key, remote.ssh.privateKey, { mode: 0o600 });
  const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'config') };
  const options = {
    ssh: `root@${remote.address}`,
    identityFile: key,
    engineSocket: remote.engine.socket,
    oneUser: ONE_USER,
    probeImage: BASE_IMAGE,
    register: false as const,
  };
  await createHost(store, 'remote', options, { knownHostsFile: join(work, 'known_hosts'), acceptNewHostKey: true, env }, silentProgress);
  await removeLeftovers();
  writeFileSync(configPath, JSON.stringify({ imagePull: 'never', shutdownTimeoutSeconds: 3, engineTimeoutMs: 30_000, stateDir: join(work, 'state') }));
  hosts = servedHosts(loadHostSettings(configPath), configPath, { names: ['remote'], local: true }, store);
  app = await computeApp({ token: TOKEN, hosts, pushTimeoutMs: 120_000 });
  const port = await freePort();
  await app.listen({ host: '127.0.0.1', port });
  serviceUrl = `http://127.0.0.1:${port}`;
  registry = await startRegistry();
  const pullingConfig = join(work, 'pulling.json');
  writeFileSync(pullingConfig, JSON.stringify({ shutdownTimeoutSeconds: 3, stateDir: join(work, 'state') }));
  registryHosts = servedHosts(loadHostSettings(pullingConfig), pullingConfig, { names: [], local: true }, store);
  registryApp = await computeApp({ token: TOKEN, hosts: registryHosts, registry: registry.address, pushTimeoutMs: 120_000 });
  const registryPort = await freePort();
  await registryApp.listen({ host: '127.0.0.1', port: registryPort });
  registryServiceUrl = `http://127.0.0.1:${registryPort}`;
  glance = await startGlance();
  installed = installShim();
  shim = ShimSteps.start('nova_glance_snapshots.py', {
    DVT_SHIM_PATH: installed,
    DVT_TOKEN: TOKEN,
    DVT_URL: serviceUrl,
    DVT_GLANCE: glance.url,
    DVT_GLANCE_PID: String(glance.pid),
    DVT_IMAGE: BASE_IMAGE,
  });
  baseId = (await shim.step('base')).image_id as string;
});

test.after.always(async () => {
  await shim?.close();
  await app?.close();
  await registryApp?.close();
  await Promise.allSettled([...hosts, ...registryHosts].map((host) => host.services.close()));
  await registry?.stop();
  await glance?.stop();
  await removeLeftovers().catch(() => undefined);
  await remote.stop();
  for (const link of linksStartingWith(`tap${ids.uuidPrefix}`)) deleteLink(link);
  deleteBridge(rigBridge);
  forgetOneUser();
  if (installed) rmSync(installed, { recursive: true, force: true });
  rmSync(archives, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test.serial('an instance spawned from a Glance image that has no data boots its name as a Docker reference', async (t) => {
  t.like(await shim!.step('spawn', first, baseId, 'before-snapshot', 'local', ...vif(50)), { power_state: 1 });
  t.is(await originOf(first), 'before-snapshot');
  t.regex(addressesOf((await (await realEngine()).inspectContainer(`nova-${first}`)).State.Pid), new RegExp(` ${ids.address(0, 50)}/24 `));
});

test.serial("snapshot uploads the container's docker save stream into the image nova created, which ends active", async (t) => {
  snapshot = await shim!.step('snapshot', first, baseId);
  t.deepEqual(snapshot.task_states, [
    ['image_pending_upload', null],
    ['image_uploading', 'image_pending_upload'],
  ]);
  t.like(snapshot.glance, { status: 'active', container_format: 'docker', disk_format: 'raw' });
  t.true(snapshot.glance.size > 1_000_000, `size ${snapshot.glance.size}`);
  t.regex(snapshot.glance.properties.docker_image_id, /^sha256:[a-f0-9]{64}$/);
  t.like(snapshot.glance.properties, { user_note: 'kept', image_type: 'snapshot', instance_uuid: first });
  t.truthy(snapshot.glance.properties.os_command_line, "the base image's properties nova-api copied are kept");
  t.is(snapshot.glance.properties.docker_image, undefined, 'no registry: the data is the image');
  t.is(snapshot.returned, null);
  t.deepEqual(glance!.storedFiles().length > 0, true);
  t.deepEqual(await committedTags(), [], 'the committed image left the host once uploaded');
  t.deepEqual(await snapshotImages(), []);
});

test.serial('a new instance boots from the snapshot with the data written before it', async (t) => {
  t.like(await shim!.step('spawn', fromSnapshot, snapshot.image_id, 'after-snapshot', 'local', ...vif(51)), { power_state: 1 });
  t.is(await originOf(fromSnapshot), 'before-snapshot');
  const engine = await realEngine();
  const container = await engine.inspectContainer(`nova-${fromSnapshot}`);
  t.is(container.Image, snapshot.glance.properties.docker_image_id, 'the loaded image is the one the snapshot recorded');
  t.regex(addressesOf(container.State.Pid), new RegExp(` ${ids.address(0, 51)}/24 `), 'its VIF is plugged as for any spawn');
});

test.serial("the snapshot boots on the service's other host too", async (t) => {
  t.like(await shim!.step('spawn', onRemote, snapshot.image_id, 'on-remote', 'remote', remoteVmBridge, ids.address(0, 60)), { power_state: 1 });
  t.is(await originOf(onRemote), 'before-snapshot');
  const remoteEngine = remote.engine.client();
  t.teardown(() => remoteEngine.close());
  const container = await remoteEngine.inspectContainer(`nova-${onRemote}`);
  t.is(container.Image, snapshot.glance.properties.docker_image_id);
  t.regex(addressesOf(container.State.Pid), new RegExp(` ${ids.address(0, 60)}/24 `));
  t.regex(
    execFileSync('ip', ['-n', remote.name, '-o', 'link', 'show', 'master', remoteVmBridge], { encoding: 'utf8' }),
    new RegExp(`tap${onRemote.slice(0, 11)}`),
  );
  t.deepEqual(await instanceNames(await realEngine(), onRemote), [], 'not on this machine');
});

test.serial('with a registry, the snapshot is pushed there too, pinned by digest in docker_image, which spawn then boots', async (t) => {
  await shim!.step('use_service', registryServiceUrl);
  t.teardown(() => shim!.step('use_service', serviceUrl));
  t.like(await shim!.step('spawn', withRegistry, baseId, 'registry-origin', 'local', ...vif(52)), { power_state: 1 });
  t.is(await originOf(withRegistry), 'registry-origin');
  const pushed = await shim!.step('snapshot', withRegistry, baseId);
  t.like(pushed.glance, { status: 'active', container_format: 'docker', disk_format: 'raw' });
  t.true(pushed.glance.size > 1_000_000);
  t.regex(pushed.glance.properties.docker_image, new RegExp(`^127\\.0\\.0\\.1:5310/nova-snapshots/${withRegistry}@sha256:[a-f0-9]{64}$`));
  t.is(pushed.returned, pushed.glance.properties.docker_image);
  t.like(await shim!.step('spawn', fromRegistry, pushed.image_id, 'not-this', 'local', ...vif(53)), { power_state: 1 });
  t.is(await originOf(fromRegistry), 'registry-origin');
  const container = await (await realEngine()).inspectContainer(`nova-${fromRegistry}`);
  t.is(container.Config.Image, pushed.glance.properties.docker_image, 'booted from the registry reference');
  t.is(container.Image, pushed.glance.properties.docker_image_id, 'the same image Glance holds');
});

/** `docker save` archives of the base image: by id (untagged, as snapshots are) and by its tag. */
function baseArchives(): { untagged: string; tagged: string } {
  const untagged = join(archives, 'untagged.tar');
  const tagged = join(archives, 'tagged.tar');
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE], { encoding: 'utf8' }).trim();
  execFileSync('docker', ['save', '-o', untagged, id]);
  execFileSync('docker', ['save', '-o', tagged, BASE_IMAGE]);
  return { untagged, tagged };
}

test.serial('hostile image properties are InvalidInput and create nothing', async (t) => {
  const { untagged } = baseArchives();
  t.regex((await shim!.step('hostile', hostile, 'reference')).raised, /^InvalidInput: .*image "busybox;reboot" is not a valid image reference/);
  t.regex((await shim!.step('hostile', hostile, 'image_id', untagged)).raised, /^InvalidInput: .*image_id must match pattern/);
  t.deepEqual(await instanceNames(await realEngine(), hostile), []);
});

test.serial('image data that is not the recorded image, or would retag host images, is refused before anything loads', async (t) => {
  const { untagged, tagged } = baseArchives();
  const before = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE], { encoding: 'utf8' });
  t.regex((await shim!.step('hostile', hostile, 'other_image_id', untagged)).raised, /^InvalidInput: .*not the expected sha256:0{64}/);
  t.regex((await shim!.step('hostile', hostile, 'plain', tagged)).raised, /^InvalidInput: .*names image tags/);
  t.deepEqual(await instanceNames(await realEngine(), hostile), []);
  t.is(execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE], { encoding: 'utf8' }), before);
});

test.serial('a snapshot of an instance that is not there is InstanceNotRunning, and uploads nothing', async (t) => {
  const seen = await shim!.step('snapshot', hostile, baseId);
  t.regex(seen.raised, /^InstanceNotRunning: /);
  t.deepEqual(await (await realEngine()).imageTags(`nova-snapshots/${hostile}`), []);
});

test.serial('Glance dying mid-upload is the exception nova-compute gets from its glance API, and leaves nothing on the host', async (t) => {
  const before = await snapshotImages();
  const seen = await shim!.step('snapshot_glance_dies', first, baseId);
  t.regex(seen.raised, /^GlanceConnectionFailed: /);
  for (let i = 0; i < 50 && (await committedTags()).length; i++) await new Promise((resolve) => setTimeout(resolve, 200));
  t.deepEqual(await committedTags(), []);
  t.deepEqual((await snapshotImages()).sort(), before.sort(), 'no image but the one the instance booted from the snapshot runs');
  t.deepEqual(
    readdirSync(tmpdir()).filter((name) => name.startsWith('dockvisor-image-')),
    [],
    'no archive spooled for loading is left',
  );
});

test.serial('destroying the snapshotted instance leaves the one booted from its snapshot running', async (t) => {
  await shim!.step('destroy', first);
  t.deepEqual(await instanceNames(await realEngine(), first), []);
  t.is(await originOf(fromSnapshot), 'before-snapshot');
  t.true((await (await realEngine()).inspectContainer(`nova-${fromSnapshot}`)).State.Running);
});
