import { createHash } from 'node:crypto';
import test from 'ava';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError } from '../drivers/core/errors.ts';
import { tarArchive } from '../drivers/core/tar-archive.ts';
import type { SpawnRequest, VifRequest } from '../drivers/nova/api-schemas.ts';
import { availableResource } from '../drivers/nova/host-resources.ts';
import { boundedBy } from '../drivers/nova/image-archive.ts';
import { NovaInstances } from '../drivers/nova/nova-instances.ts';
import { memoryHost, type MemoryHost } from './helpers/memory-host.ts';
import { BASE_IMAGE } from './helpers/paths.ts';

// The Nova instances' verbs (drivers/nova/nova-instances.ts) on the in-memory engine and host: no root, no Docker.
// The same behaviours through the service on the real engine are in nova-lifecycle and nova-api.

const BRIDGE = 'br-nova-mem';
const REGISTRY = 'registry.memory:5000';
const uuid = (n: number) => `0b7e0000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const vif = (id: string, address: string, extra: Partial<VifRequest> = {}): VifRequest => ({
  id,
  address,
  bridge: BRIDGE,
  ips: [{ address: '10.20.0.5', prefix: 24 }],
  gateway: '10.20.0.1',
  dns: ['10.20.0.53'],
  ...extra,
});
const request = (n: number, extra: Partial<SpawnRequest> = {}): SpawnRequest => ({
  uuid: uuid(n),
  name: 'memory instance',
  image: BASE_IMAGE,
  command: ['sleep', '100000'],
  flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 },
  ...extra,
});
const novaOn = (t: Parameters<typeof memoryHost>[0]): { host: MemoryHost; nova: NovaInstances } => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  return { host, nova: new NovaInstances(host.services, { registry: REGISTRY, pushTimeoutMs: 1000 }) };
};

test("spawn writes the injected files before the first start and plugs the VIFs; list names only Nova's instances, with Nova's names", async (t) => {
  const { host, nova } = novaOn(t);
  const spawned = await nova.spawn(
    request(1, {
      instance_name: 'instance-0000002a',
      injected_files: [{ path: '/etc/dockvisor/motd', contents: Buffer.from('injected\n').toString('base64') }],
      network_info: [vif('5a1d0000-aaaa', '02:00:00:00:01:01')],
    }),
  );
  t.like(spawned, { uuid: uuid(1), container: `nova-${uuid(1)}`, power_state: 1, state: 'RUNNING' });
  t.is(host.engine.fileOf(`nova-${uuid(1)}`, '/etc/dockvisor/motd')?.toString(), 'injected\n');
  const pid = (await host.engine.inspectContainer(`nova-${uuid(1)}`)).State.Pid;
  t.deepEqual(host.access.interfacesOf(pid).get('eth0')?.addresses, ['10.20.0.5/24']);
  t.is(host.access.masterOf('tap5a1d0000-aa'), BRIDGE);
  await host.engine.createContainer('one-5', {
    Image: BASE_IMAGE,
    Labels: { 'io.dockvisor.owner': 'dockvisor', 'io.dockvisor.front-end': 'opennebula', 'io.dockvisor.vm-id': '5' },
    HostConfig: {},
  });
  t.deepEqual(await nova.list(), [{ uuid: uuid(1), name: 'instance-0000002a' }]);
  await t.throwsAsync(nova.spawn(request(1)), { message: /already exists/ });
});

test('power_on false creates the instance shut down; power on starts it', async (t) => {
  const { nova } = novaOn(t);
  t.is((await nova.spawn(request(2, { power_on: false }))).state, 'SHUTDOWN');
  t.is((await nova.powerOn(uuid(2))).state, 'RUNNING');
});

test('every power verb ends where Nova expects: pause, suspend, resume, reboot, power off, crash', async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(3, { network_info: [vif('5a1d0003-aaaa', '02:00:00:00:03:01')] }));
  t.is((await nova.pause(uuid(3))).state, 'PAUSED');
  t.is((await nova.unpause(uuid(3))).state, 'RUNNING');
  t.is((await nova.suspend(uuid(3))).state, 'SUSPENDED');
  t.is((await nova.info(uuid(3))).state, 'SUSPENDED');
  t.is((await nova.resume(uuid(3))).state, 'RUNNING');
  t.is((await nova.suspend(uuid(3))).state, 'SUSPENDED');
  t.is((await nova.reboot(uuid(3), 'SOFT')).state, 'RUNNING', 'a soft reboot ends running from suspended');
  t.is((await nova.reboot(uuid(3), 'HARD')).state, 'RUNNING');
  const pid = (await host.engine.inspectContainer(`nova-${uuid(3)}`)).State.Pid;
  t.true(host.access.interfacesOf(pid).has('eth0'), 'the VIF is plugged again after the reboots');
  t.is((await nova.powerOff(uuid(3), 0)).state, 'SHUTDOWN');
  t.is((await nova.powerOn(uuid(3))).state, 'RUNNING');
  t.is((await nova.powerOff(uuid(3))).state, 'SHUTDOWN');
  await nova.powerOn(uuid(3));
  host.engine.exitByItself(`nova-${uuid(3)}`, 2);
  t.is((await nova.info(uuid(3))).state, 'CRASHED');
});

test('destroy removes the instance with its VIFs; destroying it again, or an unknown one, is no error', async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(4, { network_info: [vif('5a1d0004-aaaa', '02:00:00:00:04:01')] }));
  await nova.destroy(uuid(4));
  t.is(await host.engine.findContainer(`nova-${uuid(4)}`), undefined);
  t.false(host.access.hostLinkNames().includes('tap5a1d0004-aa'));
  await t.notThrowsAsync(nova.destroy(uuid(4)));
  await t.throwsAsync(nova.info(uuid(4)), { message: /instance .* not found on this host/ });
  await t.throwsAsync(nova.info('NOT-A-UUID'), { message: /is not a lower-case uuid/ });
});

test('attach and detach an interface: the next free eth<n>, a host end already taken is refused', async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(5, { network_info: [vif('5a1d0005-aaaa', '02:00:00:00:05:01')] }));
  await nova.attachInterface(uuid(5), vif('5a1d0005-bbbb', '02:00:00:00:05:02', { ips: [{ address: '10.20.0.6', prefix: 24 }] }));
  const pid = (await host.engine.inspectContainer(`nova-${uuid(5)}`)).State.Pid;
  t.deepEqual(host.access.interfacesOf(pid).get('eth1')?.addresses, ['10.20.0.6/24']);
  await t.throwsAsync(nova.attachInterface(uuid(5), vif('5a1d0005-bbbb', '02:00:00:00:05:03')), { message: /already exists on the host/ });
  await nova.detachInterface(uuid(5), '5a1d0005-bbbb');
  t.false(host.access.hostLinkNames().includes('tap5a1d0005-bb'));
  t.false(host.access.interfacesOf(pid).has('eth1'));
});

test('snapshot commits and pushes, answering the reference pinned by digest; console output is the end of the log', async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(6));
  const reference = await nova.snapshot(uuid(6), 'image-1');
  t.regex(reference, new RegExp(`^${REGISTRY}/nova-snapshots/${uuid(6)}@sha256:[a-f0-9]{64}$`));
  t.true(host.engine.pushed.has(`${REGISTRY}/nova-snapshots/${uuid(6)}:image-1`));
  await t.throwsAsync(new NovaInstances(host.services, { pushTimeoutMs: 1000 }).snapshot(uuid(6), 'image-2'), { message: /no registry is configured/ });
  host.engine.writeLog(`nova-${uuid(6)}`, 'booted\nready\n');
  t.is(await nova.consoleOutput(uuid(6)), 'booted\nready\n');
});

test("a snapshot for Glance is the committed image's docker save stream, which another host loads and boots; the commit leaves once released", async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(9));
  const snapshot = await nova.snapshotArchive(uuid(9), 'glance-1');
  t.regex(snapshot.imageId, /^sha256:[a-f0-9]{64}$/);
  t.regex(snapshot.pinned ?? '', new RegExp(`^${REGISTRY}/nova-snapshots/${uuid(9)}@sha256:`));
  const archive = await buffered(snapshot.archive);
  await snapshot.release();
  t.deepEqual(await host.engine.imageTags(`${REGISTRY}/nova-snapshots/${uuid(9)}`), []);
  const other = novaOn(t);
  t.is(await other.nova.loadImage(Readable.from([archive]), snapshot.imageId), snapshot.imageId);
  t.like(await other.nova.spawn(request(10, { image: snapshot.imageId })), { state: 'RUNNING' });
});

test('an image archive is refused, and nothing loaded, unless it is one untagged image of the expected id', async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(11));
  const { imageId, archive, release } = await nova.snapshotArchive(uuid(11), 'glance-2');
  const saved = await buffered(archive);
  await release();
  await host.engine.removeImage(imageId).catch(() => undefined);
  const files = tarFiles(saved);
  const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
  const withManifest = (entries: unknown[]) =>
    tarArchive([...files].map(([name, content]) => ({ name, content: name === 'manifest.json' ? Buffer.from(JSON.stringify(entries)) : content })));
  // The OCI layout newer engines also write: an index leading to one image manifest, whose config is the image's.
  const ociManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: imageId }, layers: [] }));
  const otherManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${'1'.repeat(64)}` }, layers: [] }));
  const blobName = (content: Buffer) => `blobs/sha256/${createHash('sha256').update(content).digest('hex')}`;
  const withIndex = (manifestBlob: Buffer, annotations?: Record<string, string>) =>
    tarArchive([
      ...[...files].map(([name, content]) => ({ name, content })),
      { name: blobName(manifestBlob), content: manifestBlob },
      {
        name: 'index.json',
        content: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${blobName(manifestBlob).slice(13)}`, annotations }] })),
      },
    ]);
  const refused: [string, Buffer, string | undefined, RegExp][] = [
    [
      'an index naming the image',
      withIndex(ociManifest, { 'io.containerd.image.name': 'docker.io/library/debian:12' }),
      undefined,
      /index\.json .* names the image/,
    ],
    ['an index with a ref name', withIndex(ociManifest, { 'org.opencontainers.image.ref.name': '12' }), undefined, /names the image/],
    ['an index leading elsewhere', withIndex(otherManifest), undefined, /leads to another image/],
    ['not a tar', Buffer.from('not an archive at all'.repeat(40)), undefined, /not a tar archive|truncated/],
    ['no manifest', tarArchive([{ name: 'layer.tar', content: Buffer.from('x') }]), undefined, /has no manifest\.json/],
    ['two images', withManifest([manifest[0], manifest[0]]), undefined, /exactly one image/],
    ['a tag', withManifest([{ ...manifest[0], RepoTags: ['debian:12'] }]), undefined, /names image tags/],
    ['another image', saved, `sha256:${'0'.repeat(64)}`, /not the expected sha256:0{64}/],
    ['cut short', saved.subarray(0, saved.length - 1024 - 100), undefined, /truncated/],
    ['a bad expected id', saved, 'sha256:../x', /is not sha256:<64 hex>/],
  ];
  for (const [what, bytes, expected, message] of refused) {
    await t.throwsAsync(nova.loadImage(Readable.from([bytes]), expected), { instanceOf: InvalidInputError, message }, what);
  }
  t.is(await host.engine.findImage(imageId), undefined, 'nothing was loaded');
  t.false(host.engine.calls.includes('load'));
  t.is(await nova.loadImage(Readable.from([withIndex(ociManifest)]), undefined), imageId, 'an index that names nothing and leads to the image is fine');
});

test('an image archive larger than the room left for it is refused as it arrives', async (t) => {
  const through: Buffer[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (through.push(chunk), done()) });
  await t.throwsAsync(pipeline(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), boundedBy(1000), sink), {
    instanceOf: InvalidInputError,
    message: /larger than the 0 MiB free for it/,
  });
  t.is(Buffer.concat(through).length, 600, 'what came before the limit went through, nothing after');
});

async function buffered(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The regular files of a ustar archive, in order. */
function tarFiles(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const name = tar
      .subarray(at, at + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    files.set(name, Buffer.from(tar.subarray(at + 512, at + 512 + size)));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

test("the host's resources count Nova's instances' flavors, stopped ones included", async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(7, { flavor: { vcpus: 2, memory_mb: 256, root_gb: 3 } }));
  await nova.spawn(request(8, { flavor: { vcpus: 1, memory_mb: 128, root_gb: 1 }, power_on: false }));
  const resource = await availableResource(host.services);
  t.like(resource, { vcpus: 4, vcpus_used: 3, memory_mb_used: 384, local_gb_used: 4, hypervisor_type: 'docker', hypervisor_version: 27_000_000 });
});

test('rebuild remakes the container from the new image pinned by digest, the VIFs, metadata and name kept; it ends running', async (t) => {
  const { host, nova } = novaOn(t);
  const newImage = `${REGISTRY}/app:v2`;
  host.engine.registry.set(newImage, { labels: {}, config: { Volumes: ['/data'] } });
  const network_info = [vif('5a1d0040-aaaa', '02:00:00:00:40:01')];
  const file = (path: string, text: string) => ({ path, contents: Buffer.from(text).toString('base64') });
  const definition = {
    name: 'memory instance',
    instance_name: 'instance-00000040',
    flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 },
    metadata: { ROLE: 'web' },
  };
  await nova.spawn(request(40, { ...definition, network_info, injected_files: [file('/etc/at-spawn', 'spawn\n')] }));
  await nova.powerOff(uuid(40), 0);
  const before = await host.engine.inspectContainer(`nova-${uuid(40)}`);

  const rebuilt = await nova.rebuild(uuid(40), { ...definition, image: newImage, network_info, injected_files: [file('/etc/at-rebuild', 'rebuild\n')] });
  t.like(rebuilt, { uuid: uuid(40), container: `nova-${uuid(40)}`, state: 'RUNNING' });
  t.regex(rebuilt.image, new RegExp(`^${REGISTRY}/app@sha256:[a-f0-9]{64}$`));
  const after = await host.engine.inspectContainer(`nova-${uuid(40)}`);
  t.not(after.Id, before.Id);
  t.is(after.Config.Image, rebuilt.image);
  t.true(after.Config.Env?.includes('ROLE=web'));
  t.is(host.engine.fileOf(`nova-${uuid(40)}`, '/etc/at-rebuild')?.toString(), 'rebuild\n');
  t.is(host.engine.fileOf(`nova-${uuid(40)}`, '/etc/at-spawn'), undefined, 'a fresh root');
  t.deepEqual(host.access.interfacesOf(after.State.Pid).get('eth0')?.addresses, ['10.20.0.5/24']);
  t.deepEqual(await nova.list(), [{ uuid: uuid(40), name: 'instance-00000040' }]);

  const local = await nova.rebuild(uuid(40), { ...definition, image: BASE_IMAGE, network_info });
  t.is(local.image, (await host.engine.inspectImage(BASE_IMAGE)).Id, 'an image no registry gave a digest is pinned by its id');
});

test('rebuild refuses an unknown instance, an image no registry has and hostile files, leaving the instance as it was', async (t) => {
  const { host, nova } = novaOn(t);
  await nova.spawn(request(41));
  const before = await host.engine.inspectContainer(`nova-${uuid(41)}`);
  const flavor = { vcpus: 1, memory_mb: 64, root_gb: 1 };
  await t.throwsAsync(nova.rebuild(uuid(42), { image: BASE_IMAGE, flavor, network_info: [] }), { name: 'VmNotFoundError' });
  await t.throwsAsync(nova.rebuild(uuid(41), { image: `${REGISTRY}/absent:v1`, flavor, network_info: [] }), {
    name: 'InvalidInputError',
    message: /cannot be pulled/,
  });
  await t.throwsAsync(nova.rebuild(uuid(41), { image: BASE_IMAGE, flavor, network_info: [], injected_files: [{ path: '/etc/../proc/x', contents: '' }] }), {
    name: 'InvalidInputError',
  });
  const after = await host.engine.inspectContainer(`nova-${uuid(41)}`);
  t.is(after.Id, before.Id);
  t.true(after.State.Running);
});
