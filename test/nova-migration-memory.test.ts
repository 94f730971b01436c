import test from 'ava';
import { InvalidInputError, NotSupportedError, VmConflictError, VmNotFoundError } from '../drivers/core/errors.ts';
import type { SpawnRequest } from '../drivers/nova/api-schemas.ts';
import { ComputeHosts } from '../drivers/nova/compute-hosts.ts';
import { InstanceMoves } from '../drivers/nova/instance-moves.ts';
import { memoryHost } from './helpers/memory-host.ts';
import { BASE_IMAGE } from './helpers/paths.ts';

// Resize on one host (drivers/nova/instance-moves.ts) on the in-memory engine: no root, no Docker, no registry.
// The files kept, the move between two hosts and the shim's exceptions are in nova-migration on the real engines.

const uuid = '0b7e0000-0000-4000-8000-00000000e001';
const BRIDGE = 'br-nmig-mem';
const small = { vcpus: 1, memory_mb: 64, root_gb: 1 };
const large = { vcpus: 2, memory_mb: 128, root_gb: 1 };
const vif = { id: '5a1d0000-eeee', address: '02:00:00:00:0e:01', bridge: BRIDGE, ips: [{ address: '10.20.0.5', prefix: 24 }], dns: [] };
const spawn: SpawnRequest = { uuid, image: BASE_IMAGE, command: ['sleep', '100000'], flavor: small, network_info: [vif] };

function oneHost(t: Parameters<typeof memoryHost>[0], registry?: string) {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  const hosts = new ComputeHosts([{ name: 'local', services: host.services, addresses: ['192.0.2.10'] }], { registry, pushTimeoutMs: 1000 });
  return { host, hosts, moves: new InstanceMoves(hosts), instances: hosts.hosts[0]!.instances };
}

async function limitsOf(host: ReturnType<typeof memoryHost>, name: string) {
  const { HostConfig, State } = await host.engine.inspectContainer(name);
  return { running: State.Running, cpuQuota: HostConfig.CpuQuota, memoryMb: (HostConfig.Memory ?? 0) / 1024 / 1024 };
}

test('resize on one host: the new container has the new flavor, the source waits aside; confirm removes it', async (t) => {
  const { host, moves, instances } = oneHost(t);
  await instances.spawn(spawn);
  const disk = await moves.migrate(uuid, { dest: '192.0.2.10', flavor: large, timeout: 0 });
  t.deepEqual(disk, { source_host: 'local', image: `dockvisor-nova-resize/${uuid}:resize`, same_host: true });
  t.like(await limitsOf(host, `nova-${uuid}`), { running: false });
  t.like(await moves.finish(uuid, { disk_info: disk, flavor: large, network_info: [vif] }), { state: 'RUNNING', host: 'local' });
  t.like(await moves.finish(uuid, { disk_info: disk, flavor: large, network_info: [vif] }), { state: 'RUNNING' }, 'a second finish is the first');
  t.deepEqual(await limitsOf(host, `nova-${uuid}`), { running: true, cpuQuota: 200_000, memoryMb: 128 });
  t.deepEqual(await limitsOf(host, `nova-${uuid}-resize-source`), { running: false, cpuQuota: 100_000, memoryMb: 64 });
  t.deepEqual(await instances.list(), [{ uuid, name: undefined }], 'the source aside is no instance of its own');
  await moves.confirm(uuid);
  await moves.confirm(uuid);
  t.is(await host.engine.findContainer(`nova-${uuid}-resize-source`), undefined);
  t.like(await instances.info(uuid), { state: 'RUNNING' });
});

test('revert: the new container goes, the source is the instance again with its old flavor, started or not', async (t) => {
  const { host, moves, instances } = oneHost(t);
  await instances.spawn(spawn);
  const disk = await moves.migrate(uuid, { dest: 'local', flavor: large });
  await moves.finish(uuid, { disk_info: disk, flavor: large, network_info: [vif] });
  t.like(await moves.revert(uuid, { power_on: false }), { state: 'SHUTDOWN' });
  t.deepEqual(await limitsOf(host, `nova-${uuid}`), { running: false, cpuQuota: 100_000, memoryMb: 64 });
  t.is(await host.engine.findContainer(`nova-${uuid}-resize-source`), undefined);
  t.like(await moves.revert(uuid, { network_info: [vif] }), { state: 'RUNNING' }, 'a second revert only applies the power state');
});

test('refusals come before anything stops; a finish whose source still runs is a conflict', async (t) => {
  const { host, moves, instances } = oneHost(t);
  await instances.spawn(spawn);
  await t.throwsAsync(moves.migrate(uuid, { dest: '198.51.100.7', flavor: large }), {
    instanceOf: InvalidInputError,
    message: /destination 198\.51\.100\.7 is no host of this service: neither the name nor an address of local/,
  });
  await t.throwsAsync(moves.migrate(uuid, { dest: 'local', flavor: { ...large, root_gb: 0 } }), {
    instanceOf: InvalidInputError,
    message: /the new flavor's root_gb 0 is smaller than its 1 GB; a disk does not shrink/,
  });
  await t.throwsAsync(moves.migrate('0b7e0000-0000-4000-8000-00000000e0ff', { dest: 'local', flavor: large }), { instanceOf: VmNotFoundError });
  t.true((await limitsOf(host, `nova-${uuid}`)).running);
  const disk = { source_host: 'local', image: `dockvisor-nova-resize/${uuid}:resize`, same_host: true };
  await t.throwsAsync(moves.finish(uuid, { disk_info: disk, flavor: large }), { instanceOf: VmConflictError, message: /is running/ });
  t.deepEqual(await instances.list(), [{ uuid, name: undefined }]);
});

test('a move to another host needs the registry: 501 before the instance stops', async (t) => {
  const first = memoryHost(t, { bridges: [BRIDGE] });
  const second = memoryHost(t, { bridges: [BRIDGE] });
  const hosts = new ComputeHosts(
    [
      { name: 'a', services: first.services },
      { name: 'b', services: second.services, addresses: ['192.0.2.11'] },
    ],
    { pushTimeoutMs: 1000 },
  );
  await hosts.hosts[0]!.instances.spawn(spawn);
  await t.throwsAsync(new InstanceMoves(hosts).migrate(uuid, { dest: '192.0.2.11', flavor: small }), {
    instanceOf: NotSupportedError,
    message: /migration to another host: no registry is configured/,
  });
  t.true((await limitsOf(first, `nova-${uuid}`)).running);
});
