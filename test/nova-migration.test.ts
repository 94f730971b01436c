import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadHostSettings } from '../drivers/core/host-settings.ts';
import { LABEL_VM_ID } from '../drivers/core/labels.ts';
import type { EngineClient } from '../drivers/engine/engine-client.ts';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { createHost } from '../drivers/machine/provisioner.ts';
import { silentProgress } from '../drivers/machine/provision/progress.ts';
import type { NamedHost } from '../drivers/nova/compute-hosts.ts';
import { computeApp } from '../drivers/nova/service/compute-app.ts';
import { servedHosts } from '../drivers/nova/service/served-hosts.ts';
import { removeInstances, TOKEN, uuidMaker } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, linksStartingWith } from './helpers/net.ts';
import { installShim, requirePythonNova, startShimSteps } from './helpers/nova-shim.ts';
import type { ShimSteps } from './helpers/shim-steps.ts';
import { BASE_IMAGE, stateDir } from './helpers/paths.ts';
import { TestRegistry } from './helpers/registry.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

// This machine (`local`, the service's first host) and host B (`nb`: a netns with its own sshd and engine) under one
// service; the instance's VIF is on a bridge of the same name on both, in 198.18.203.0/25.
const ids = testIds(import.meta.filename);
const rig = ids.bridge('0');
const vmBridge = ids.bridge('1');
const hostB = new TestHost('dvt-nmb', ids.address(0, 12), rig, `${ids.network(1)}.129/25`, { remoteForwarding: true });
const SERVICE_PORT = 5494;
const registry = new TestRegistry('nova-migration', 5495);
const IMAGE = 'dvt-nmig/with-volumes:latest';
const uuids = uuidMaker(ids.uuidPrefix);
const uuid = uuids.next();
const missing = uuids.next();
const VM_IP = `${ids.network(1)}.21`;
const GATEWAY = `${ids.network(1)}.1`;
const TAP = 'tape0e0e0e0-00';
const work = join(stateDir, 'nova-migration');
const store = new HostStore(join(work, 'config', 'dockvisor', 'hosts'));
const configPath = join(work, 'dockvisor.json');
const container = `nova-${uuid}`;
const aside = `${container}-resize-source`;

let app: FastifyInstance | undefined;
let hosts: NamedHost[] = [];
let installed: string | undefined;
let shim: ShimSteps | undefined;
let local: EngineClient;

function inB(...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', hostB.name, ...args], { encoding: 'utf8', timeout: 10_000 });
}

async function onEngine<T>(which: 'local' | 'nb', use: (engine: EngineClient) => Promise<T>): Promise<T> {
  if (which === 'local') return use(local);
  const engine = hostB.engine.client();
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}

/** The instance's containers on a host, by name, with their state and limits. */
async function containersOn(which: 'local' | 'nb') {
  return onEngine(which, async (engine) => {
    const found: Record<string, { running: boolean; cpuQuota: number; memoryMb: number }> = {};
    for (const name of [container, aside]) {
      const inspected = await engine.findContainer(name);
      if (inspected)
        found[name] = {
          running: inspected.State.Running,
          cpuQuota: inspected.HostConfig.CpuQuota ?? 0,
          memoryMb: (inspected.HostConfig.Memory ?? 0) / 1024 / 1024,
        };
    }
    return found;
  });
}

function readInside(which: 'local' | 'nb', path: string): string {
  const socket = which === 'local' ? '/var/run/docker.sock' : hostB.engine.socket;
  return execFileSync('docker', ['-H', `unix://${socket}`, 'exec', container, 'cat', path], { encoding: 'utf8' });
}

async function volumesOn(which: 'local' | 'nb'): Promise<string[]> {
  return onEngine(which, async (engine) => (await engine.listVolumes([`${LABEL_VM_ID}=${uuid}`])).sort());
}

async function imagesOn(which: 'local' | 'nb'): Promise<number> {
  return onEngine(which, async (engine) => (await engine.listImages([`${LABEL_VM_ID}=${uuid}`])).length);
}

async function cleanEngines(): Promise<void> {
  await removeInstances(local, uuids.prefix).catch(() => undefined);
  for (const volume of await local.listVolumes([`${LABEL_VM_ID}=${uuid}`]).catch(() => [])) await local.removeVolume(volume).catch(() => undefined);
  for (const image of await local.listImages([`${LABEL_VM_ID}=${uuid}`]).catch(() => [])) await local.removeImage(image.Id).catch(() => undefined);
}

test.before(async () => {
  requirePythonNova();
  local = await realEngine();
  await cleanEngines();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  createBridge(rig, ids.cidr(0, 1));
  createBridge(vmBridge, `${GATEWAY}/25`);
  await Promise.all([hostB.start(), registry.start()]);
  const key = join(work, 'id_ed25519');
  writeFileSync(key, hostB.ssh.privateKey, { mode: 0o600 });
  const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'config') };
  await createHost(
    store,
    'nb',
    { ssh: `root@${hostB.address}`, identityFile: key, engineSocket: hostB.engine.socket, probeImage: BASE_IMAGE, register: false as const },
    { knownHostsFile: join(work, 'known_hosts'), acceptNewHostKey: true, env },
    silentProgress,
  );
  inB('ip', 'link', 'add', vmBridge, 'type', 'bridge');
  inB('ip', 'addr', 'add', `${GATEWAY}/25`, 'dev', vmBridge);
  inB('ip', 'link', 'set', vmBridge, 'up');
  execFileSync('docker', ['build', '--network', 'none', '-q', '-t', IMAGE, '-'], {
    input: `FROM ${BASE_IMAGE}\nRUN mkdir -p /data && echo seed > /data/seed\nVOLUME /data\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  writeFileSync(configPath, JSON.stringify({ imagePull: 'never', shutdownTimeoutSeconds: 3, engineTimeoutMs: 20_000, stateDir: join(work, 'state') }));
  hosts = servedHosts(loadHostSettings(configPath), configPath, { names: ['nb'], local: true }, store);
  app = await computeApp({ token: TOKEN, hosts, registry: registry.address, pushTimeoutMs: 120_000 });
  await app.listen({ host: '127.0.0.1', port: SERVICE_PORT });
  installed = installShim();
  shim = startShimSteps('nova_migration.py', installed, {
    DVT_URL: `http://127.0.0.1:${SERVICE_PORT}`,
    DVT_UUID: uuid,
    DVT_MISSING_UUID: missing,
    DVT_IMAGE: IMAGE,
    DVT_BRIDGE: vmBridge,
    DVT_IP: VM_IP,
    DVT_GATEWAY: GATEWAY,
    DVT_LOCAL_IP: ids.address(0, 1),
    DVT_B_IP: hostB.address,
  });
});

test.after.always(async () => {
  await shim?.close();
  await app?.close();
  await Promise.allSettled(hosts.map((host) => host.services.close()));
  await onEngine('nb', (engine) => removeInstances(engine, uuids.prefix)).catch(() => undefined);
  await cleanEngines();
  await local.removeImage(IMAGE).catch(() => undefined);
  await local.close();
  const results = await Promise.allSettled([hostB.stop(), registry.stop()]);
  for (const link of linksStartingWith('tape0e0e0e0')) deleteLink(link);
  deleteBridge(vmBridge);
  deleteBridge(rig);
  if (installed) rmSync(installed, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

test.serial('spawn on this machine; files written to the filesystem and to the image VOLUME', async (t) => {
  t.like(await shim!.step('spawn'), { state: 1 });
  execFileSync('docker', ['exec', container, 'sh', '-c', 'echo in-the-filesystem > /root/kept && echo in-the-volume > /data/kept']);
  t.true(execFileSync('ping', ['-c', '1', '-W', '2', VM_IP]).length > 0);
});

test.serial('resize on one host: the new flavor in the limits, data kept, nothing through the registry; finish twice is one finish', async (t) => {
  const seen = await shim!.step('resize_same_host');
  t.is(seen.after_migrate, 4, 'SHUTDOWN once migrate_disk_and_power_off is over');
  t.is(seen.after_finish, 1);
  const disk = JSON.parse(seen.disk_info as string) as Record<string, unknown>;
  t.like(disk, { source_host: 'local', same_host: true });
  t.regex(String(disk.image), new RegExp(`^dockvisor-nova-resize/${uuid}:resize$`), 'a local tag: nothing left the host');
  t.deepEqual(await registryRepositories(), [], 'the registry saw nothing');
  t.deepEqual(await containersOn('local'), {
    [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 },
    [aside]: { running: false, cpuQuota: 100_000, memoryMb: 64 },
  });
  t.is(readInside('local', '/root/kept'), 'in-the-filesystem\n');
  t.is(readInside('local', '/data/kept'), 'in-the-volume\n');
  t.true(execFileSync('ping', ['-c', '1', '-W', '2', VM_IP]).length > 0, 'the VIF is plugged again');
});

test.serial('confirm removes the source container, keeps the image VOLUME the instance uses; twice is no error', async (t) => {
  t.like(await shim!.step('confirm'), { state: 1, listed: 1 });
  t.deepEqual(Object.keys(await containersOn('local')), [container]);
  t.deepEqual(await volumesOn('local'), [`${container}-vol-0`]);
  t.is(readInside('local', '/data/kept'), 'in-the-volume\n');
});

test.serial('revert on one host: the source is back with its old flavor and data, running', async (t) => {
  const seen = await shim!.step('resize_revert');
  t.like(seen, { after_finish: 1, after_revert: 1 });
  t.deepEqual(await containersOn('local'), { [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 } });
  t.is(readInside('local', '/root/kept'), 'in-the-filesystem\n');
  t.is(readInside('local', '/data/kept'), 'in-the-volume\n');
  t.true(execFileSync('ping', ['-c', '1', '-W', '2', VM_IP]).length > 0);
});

test.serial('cold migration to host B, then revert: B has nothing left, this machine has the instance back', async (t) => {
  const seen = await shim!.step('migrate_revert');
  t.like(seen, { after_migrate: 4, after_finish: 1, listed_on_b: 1, after_revert: 1, listed_back: 1 });
  t.like(JSON.parse(seen.disk_info as string), { source_host: 'local', same_host: false });
  t.regex(JSON.parse(seen.disk_info as string).image as string, new RegExp(`^${registry.address}/nova-migrations/${uuid}@sha256:[0-9a-f]{64}$`));
  t.deepEqual(await containersOn('nb'), {});
  t.deepEqual(await volumesOn('nb'), []);
  t.deepEqual(await containersOn('local'), { [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 } });
  t.is(readInside('local', '/data/kept'), 'in-the-volume\n');
  t.deepEqual(await registryTags(), [], 'the saved filesystem is deleted from the registry');
});

test.serial('cold migration to host B with a new flavor, confirmed: uuid, data and VOLUME kept, VIF reachable on B', async (t) => {
  const seen = await shim!.step('migrate_confirm');
  t.like(seen, { after_migrate: 4, after_finish: 1, after_confirm: 1, listed_on_b: 1 });
  t.deepEqual(await containersOn('local'), {}, 'nothing left on this machine');
  t.deepEqual(await volumesOn('local'), []);
  t.is(await imagesOn('local'), 0, 'nor the filesystems saved by the resizes');
  t.deepEqual(await containersOn('nb'), { [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 } });
  t.deepEqual(await volumesOn('nb'), [`${container}-vol-0`]);
  t.is(readInside('nb', '/root/kept'), 'in-the-filesystem\n');
  t.is(readInside('nb', '/data/kept'), 'in-the-volume\n');
  t.is(readInside('nb', '/data/seed'), 'seed\n', "the image's own VOLUME content too");
  t.regex(inB('ip', '-o', 'link', 'show', 'dev', TAP), new RegExp(`master ${vmBridge} .*state UP`));
  t.true(inB('ping', '-c', '1', '-W', '2', VM_IP).length > 0, "reachable from host B's bridge");
  t.false(linksStartingWith('tape0e0e0e0').length > 0, "no tap left on this machine's bridge");
  t.deepEqual(await registryTags(), []);
});

test.serial('refusals are the exceptions nova-compute acts on, and leave the instance as it was', async (t) => {
  t.deepEqual(await shim!.step('errors'), {
    unknown_destination: 'InstanceFaultRollback(ResizeError)',
    smaller_disk: 'InstanceFaultRollback(ResizeError)',
    too_big_for_host: 'InstanceFaultRollback(ResizeError)',
    missing_instance: 'InstanceNotFound',
    with_volumes: 'InstanceFaultRollback(MigrationPreCheckError)',
    finish_from_unknown_host: 'ResizeError',
    finish_of_missing: 'InstanceNotFound',
    revert_of_missing: 'InstanceNotFound',
    confirm_of_missing: 'no error',
    no_registry: 'InstanceFaultRollback(MigrationPreCheckError)',
    state_after: 1,
  });
  t.deepEqual(Object.keys(await containersOn('nb')), [container]);
});

test.serial('a finish that fails on the destination leaves nothing there and the source as it was; revert starts it', async (t) => {
  t.deepEqual(await shim!.step('failed_finish'), { finish: 'ResizeError', after_failed_finish: 4, after_revert: 1 });
  t.deepEqual(await containersOn('local'), {});
  t.deepEqual(await volumesOn('local'), []);
  t.is(await imagesOn('local'), 0, 'the saved filesystem pulled for the finish went with it');
  t.deepEqual(await containersOn('nb'), { [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 } });
  t.is(readInside('nb', '/data/kept'), 'in-the-volume\n');
  t.deepEqual(await registryTags(), []);
});

test.serial('bad input is 400 (a running source 409) with nothing stopped, renamed or created', async (t) => {
  const post = async (path: string, payload: object) => {
    const answer = await app!.inject({ method: 'POST', url: `/v1/instances/${uuid}/${path}`, headers: { authorization: `Bearer ${TOKEN}` }, payload });
    return { status: answer.statusCode, message: String(answer.json<{ message?: string }>().message) };
  };
  const flavor = { vcpus: 1, memory_mb: 64, root_gb: 1 };
  const sameHost = { source_host: 'nb', image: `dockvisor-nova-resize/${uuid}:resize`, same_host: true };
  const refused: [string, object, number, RegExp][] = [
    ['migration', { dest: 'nb; reboot', flavor }, 400, /dest/],
    ['migration', { dest: 'nb', flavor: { ...flavor, vcpus: 0 } }, 400, /vcpus/],
    ['migration', { dest: 'nb', flavor, live: true }, 400, /additional properties/],
    ['migration/finish', { host: 'nb', disk_info: { ...sameHost, image: 'Bad Image!' }, flavor }, 400, /image/],
    ['migration/finish', { host: 'nb', disk_info: sameHost, flavor, metadata: { 'A;B': 'x' } }, 400, /metadata key/],
    ['migration/finish', { host: 'nb', disk_info: { ...sameHost, same_host: false }, flavor }, 400, /disk_info was saved for another host/],
    ['migration/finish', { host: 'nb', disk_info: sameHost, flavor }, 409, /is running; it is put aside only once stopped/],
    ['migration/revert', { power_on: 'yes' }, 400, /power_on/],
  ];
  for (const [path, payload, status, message] of refused) {
    const answer = await post(path, payload);
    t.is(answer.status, status, `${path} ${JSON.stringify(payload)}: ${answer.message}`);
    t.regex(answer.message, message);
  }
  t.deepEqual(await containersOn('nb'), { [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 } });
  t.deepEqual(await containersOn('local'), {});
});

test.serial('without a registry, a migration to another host is 501 before anything stops', async (t) => {
  const service = await computeApp({ token: TOKEN, hosts, pushTimeoutMs: 60_000 });
  t.teardown(() => service.close());
  const answer = await service.inject({
    method: 'POST',
    url: `/v1/instances/${uuid}/migration`,
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: { dest: ids.address(0, 1), flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 }, timeout: 1 },
  });
  t.is(answer.statusCode, 501, answer.body);
  t.regex(answer.json<{ message: string }>().message, /migration to another host: no registry is configured/);
  t.deepEqual(await containersOn('nb'), { [container]: { running: true, cpuQuota: 200_000, memoryMb: 128 } });
});

test.serial('destroy leaves nothing on either host', async (t) => {
  t.deepEqual(await shim!.step('destroyed'), { exists: false });
  t.deepEqual(await containersOn('nb'), {});
  t.deepEqual(await volumesOn('nb'), []);
  t.is(await imagesOn('nb'), 0, 'the pulled migration image went too');
});

async function registryRepositories(): Promise<string[]> {
  const answer = (await (await fetch(`http://${registry.address}/v2/_catalog`)).json()) as { repositories: string[] | null };
  return answer.repositories ?? [];
}

/** The tags left in the instance's migration repository (a deleted manifest leaves the repository, without tags). */
async function registryTags(): Promise<string[]> {
  const answer = await fetch(`http://${registry.address}/v2/nova-migrations/${uuid}/tags/list`);
  if (answer.status === 404) return [];
  return ((await answer.json()) as { tags: string[] | null }).tags ?? [];
}
