import test from 'ava';
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { LABEL_VM_ID } from '../drivers/core/labels.ts';
import type { ContainerInspect } from '../drivers/engine/types.ts';
import { uuidMaker } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { createBridge, hostPings } from './helpers/net.ts';
import { installShim, removeShimLeftovers, requirePythonNova, startShimSteps, startService, stopShimRig } from './helpers/nova-shim.ts';
import type { ShimSteps } from './helpers/shim-steps.ts';
import { BASE_IMAGE } from './helpers/paths.ts';
import { startRegistry, type SnapshotRegistry } from './helpers/snapshot-registry.ts';
import { testIds } from './helpers/test-ids.ts';

const SERVICE = '127.0.0.1:5320';
const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
const uuid = uuids.next();
const missing = uuids.next();
const container = `nova-${uuid}`;
const address = `${ids.network(0)}.11`;
// Made here, never pulled: a container of it can only be pinned by the image's own id.
const OLD_IMAGE = 'dvt-nreb/rebuild:old';
let registry: SnapshotRegistry | undefined;
let newImage = '';
let newRepository = '';
let service: ChildProcess | undefined;
let installed: string | undefined;
let shim: ShimSteps | undefined;
let pushedDigest = '';

const cleanup = async () => {
  await removeShimLeftovers(uuids.prefix, 'tapf0f0f0f0', bridge);
  for (const volume of docker('volume', 'ls', '-q', '--filter', `name=${container}-vol-`).split('\n').filter(Boolean)) docker('volume', 'rm', '-f', volume);
  for (const image of [OLD_IMAGE, newImage].filter(Boolean)) spawnQuiet('docker', ['image', 'rm', '-f', image]);
};

test.before(async () => {
  requirePythonNova();
  registry = await startRegistry();
  newRepository = `${registry.address}/dvt-nreb/rebuild`;
  newImage = `${newRepository}:new`;
  await cleanup();
  buildImage(OLD_IMAGE, 'old');
  // The new image lives in the registry only: the rebuild pulls it, and pins the digest the registry gave it.
  buildImage(newImage, 'new');
  docker('push', '-q', newImage);
  pushedDigest = (JSON.parse(docker('image', 'inspect', '--format', '{{json .RepoDigests}}', newImage)) as string[])
    .find((digest) => digest.startsWith(`${newRepository}@`))!
    .split('@')[1]!;
  docker('image', 'rm', newImage);
  createBridge(bridge, ids.cidr(0, 1));
  installed = installShim();
  service = await startService(SERVICE, registry.address, 'nova-rebuild.json', { imagePull: 'missing' });
  shim = startShimSteps('nova_rebuild.py', installed, {
    DVT_URL: `http://${SERVICE}`,
    DVT_UUID: uuid,
    DVT_MISSING_UUID: missing,
    DVT_BRIDGE: bridge,
    DVT_CIDR: `${ids.network(0)}.0/24`,
    DVT_IMAGE: OLD_IMAGE,
    DVT_OLD_IMAGE: OLD_IMAGE,
    DVT_NEW_IMAGE: newImage,
    DVT_ABSENT_IMAGE: `${newRepository}:absent`,
  });
});

test.after.always(async () => {
  await stopShimRig({ shim, service, registry, installed });
  await cleanup();
});

test.serial('rebuild to a new image: same uuid, MAC and address, a fresh root from the new image pinned by digest, metadata kept', async (t) => {
  t.deepEqual(await shim!.step('spawned'), { state: 1 });
  const before = await inspect();
  inside('echo written at run time > /run-marker; echo volume data > /data/kept');
  t.true(hostPings(address), 'reachable before the rebuild');

  const rebuilt = await shim!.step('rebuild');
  t.deepEqual(rebuilt, {
    state: 1,
    saves: [{ task_state: 'rebuild_spawning', expected_task_state: ['rebuilding'] }],
    name_listed: true,
  });
  const after = await inspect();
  t.not(after.Id, before.Id, 'a fresh container');
  t.is(after.Config.Labels?.[LABEL_VM_ID], uuid);
  t.is(after.Config.Image, `${newRepository}@${pushedDigest}`, 'the image is pinned by the digest the registry gave it');
  t.is(after.Image, (await (await realEngine()).inspectImage(`${newRepository}@${pushedDigest}`)).Id);
  t.is(inside('cat /image-marker'), 'new\n', "the new image's files");
  t.is(inside('cat /etc/rebuild-injected'), 'at rebuild\n', 'the injected file');
  t.is(inside('ls /run-marker /etc/spawn-injected /data/kept 2>&1 || true').match(/No such file/g)?.length, 3, 'nothing of the old root or volume');
  t.true(after.Config.Env!.includes('ROLE=rebuild') && after.Config.Env!.includes('TIER=web'), 'the metadata');
  t.is(inside('cat /sys/class/net/eth0/address'), '02:00:c6:12:cc:0b\n');
  t.true(inside('ip addr show eth0').includes(`inet ${address}/24`));
  t.true(hostPings(address), 'reachable at the same address after the rebuild');
});

test.serial(
  "rebuild of a stopped instance with preserve_ephemeral keeps the data of the image's VOLUME paths and ends running; an image never pushed is pinned by its id",
  async (t) => {
    inside('echo kept across > /data/kept; echo gone > /run-marker');
    t.deepEqual(await shim!.step('rebuild_preserving'), { stopped: 4, state: 1 });
    const after = await inspect();
    t.is(after.Config.Image, (await (await realEngine()).inspectImage(OLD_IMAGE)).Id);
    t.is(inside('cat /image-marker /data/kept'), 'old\nkept across\n');
    t.regex(inside('cat /run-marker 2>&1 || true'), /No such file/);
    t.true(hostPings(address));
  },
);

test.serial('hostile image properties, injected files and metadata are refused before the instance is touched', async (t) => {
  const before = await inspect();
  const seen = await shim!.step('hostile');
  t.deepEqual(seen, {
    'image property docker_image': 'InvalidInput',
    'image property runtime': 'InvalidInput',
    'command line': 'InvalidInput',
    'image name': 'InvalidInput',
    'container format': 'InvalidInput',
    'image nowhere': 'InvalidInput',
    'file outside': 'InvalidInput',
    'file relative': 'InvalidInput',
    'file of the host': 'InvalidInput',
    'file in proc': 'InvalidInput',
    'file twice': 'InvalidInput',
    'file too large': 'InvalidInput',
    'metadata key': 'InvalidInput',
    'state after': 1,
  });
  const after = await inspect();
  t.is(after.Id, before.Id, 'the same container');
  t.is(after.State.StartedAt, before.State.StartedAt, 'never restarted');
  t.is(after.Config.Image, before.Config.Image, 'the old image');
  t.is(inside('cat /data/kept'), 'kept across\n');
  t.true(hostPings(address));
});

test.serial('rebuild of an unknown instance is InstanceNotFound; evacuate and volume-backed rebuilds are refused as nova expects', async (t) => {
  t.deepEqual(await shim!.step('unsupported'), {
    'unknown instance': 'InstanceNotFound',
    evacuate: 'InstanceEvacuateNotSupported',
    'volume backed': 'NovaException',
    'state after': 1,
  });
});

test.serial('destroy after a rebuild leaves nothing', async (t) => {
  t.deepEqual(await shim!.step('destroyed'), { exists: false });
  t.is(docker('volume', 'ls', '-q', '--filter', `name=${container}-vol-`), '');
});

function buildImage(tag: string, marker: string): void {
  const dockerfile = `FROM ${BASE_IMAGE}\nRUN echo ${marker} > /image-marker && mkdir -p /data\nVOLUME /data\n`;
  execFileSync('docker', ['build', '--network', 'none', '-q', '-t', tag, '-'], { input: dockerfile, stdio: ['pipe', 'ignore', 'pipe'] });
}

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
}

function spawnQuiet(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

function inside(script: string): string {
  return execFileSync('docker', ['exec', container, 'sh', '-c', script], { encoding: 'utf8', timeout: 20_000 });
}

async function inspect(): Promise<ContainerInspect> {
  return (await realEngine()).inspectContainer(container);
}
