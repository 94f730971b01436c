import test from 'ava';
import { Value } from 'typebox/value';
import { parseNetDev } from '../drivers/core/net-dev.ts';
import { vmStatusOf } from '../drivers/core/vm-status.ts';
import type { ContainerInspect } from '../drivers/engine/types.ts';
import { HostCpuStats, InstanceDiagnostics } from '../drivers/nova/diagnostics-schemas.ts';
import { cpuFrequency, cpuTimes } from '../drivers/nova/host-cpu-stats.ts';
import { powerStateOf } from '../drivers/nova/power-state.ts';
import { computeApp } from '../drivers/nova/service/compute-app.ts';
import { auth, TOKEN } from './helpers/compute.ts';
import { memoryHost } from './helpers/memory-host.ts';
import { BASE_IMAGE } from './helpers/paths.ts';

// Diagnostics and host CPU stats without an engine: the parsers, the power state of an OOM kill, and the route's
// answer on the in-memory host, which is reached as a remote host is (no cgroup counters there).

const UUID = '0b7e0000-0000-4000-8000-00000000d1a6';
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
`;

test('/proc/net/dev gives bytes, packets, errors and drops each way', (t) => {
  t.deepEqual(parseNetDev(NET_DEV).get('eth0'), { rx: 5000, rxPackets: 40, rxErrors: 1, rxDrop: 2, tx: 3000, txPackets: 30, txErrors: 3, txDrop: 4 });
});

test('host CPU times are nanoseconds since boot, nice counted as user and interrupts as kernel; frequency in MHz', (t) => {
  const stat = 'cpu  100 20 30 4000 5 6 7 0 0 0\ncpu0 50 10 15 2000 2 3 3 0 0 0\nintr 1\n';
  const times = cpuTimes(stat);
  t.deepEqual(times, { user: 120 * 1e7, kernel: 43 * 1e7, idle: 4000 * 1e7, iowait: 5 * 1e7 });
  t.is(cpuFrequency('processor\t: 0\ncpu MHz\t\t: 2399.998\n'), 2400);
  t.is(cpuFrequency('processor\t: 0\n'), 0, 'a host whose cpuinfo has no clock');
  t.true(Value.Check(HostCpuStats, { ...times, frequency: 2400 }));
});

test('an instance the kernel killed for memory reads CRASHED, a powered-off one SHUTDOWN', (t) => {
  const exited = (OOMKilled: boolean, ExitCode: number) =>
    vmStatusOf({
      Id: 'c'.repeat(64),
      Name: '/nova-x',
      Config: { Labels: {} },
      State: { Status: 'exited', Running: false, Paused: false, Pid: 0, ExitCode, OOMKilled, Error: '', StartedAt: '', FinishedAt: '' },
    } as unknown as ContainerInspect);
  t.is(powerStateOf(exited(true, 137), false), 'CRASHED');
  t.is(powerStateOf(exited(false, 137), false), 'SHUTDOWN');
  t.is(powerStateOf(exited(false, 3), false), 'CRASHED');
});

test('the diagnostics route answers counters while running and the last exit once the instance stopped by itself', async (t) => {
  const host = memoryHost(t, { bridges: ['br-diag-mem'] });
  const app = await computeApp({ token: TOKEN, hosts: [{ name: 'local', services: host.services }], pushTimeoutMs: 1000 });
  t.teardown(() => app.close());
  const spawned = await app.inject({
    method: 'POST',
    url: '/v1/instances',
    headers: auth,
    payload: {
      uuid: UUID,
      name: 'diagnosed',
      image: BASE_IMAGE,
      command: ['sleep', '100000'],
      flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 },
      network_info: [{ id: 'd1a60000-aaaa', address: '02:00:00:00:d1:a6', bridge: 'br-diag-mem', ips: [], dns: [] }],
    },
  });
  t.is(spawned.statusCode, 201, spawned.body);

  const running = (await app.inject({ url: `/v1/instances/${UUID}/diagnostics`, headers: auth })).json();
  t.true(Value.Check(InstanceDiagnostics, running));
  t.like(running, { state: 'RUNNING', power_state: 1, hypervisor: 'docker', health: null, last_exit: null, memory_details: { maximum: 64 } });
  t.deepEqual(
    running.nic_details.map((nic: { name: string; mac_address: string }) => [nic.name, nic.mac_address]),
    [['eth0', '02:00:00:00:d1:a6']],
  );
  t.deepEqual(running.cpu_details, [], 'a host reached through HostAccess alone has no cgroup counters');

  host.engine.writeLog(`nova-${UUID}`, 'starting\nout of luck\n');
  host.engine.exitByItself(`nova-${UUID}`, 3);
  const stopped = (await app.inject({ url: `/v1/instances/${UUID}/diagnostics`, headers: auth })).json();
  t.true(Value.Check(InstanceDiagnostics, stopped));
  t.like(stopped, { state: 'CRASHED', uptime: null, nic_details: [], last_exit: { exit_code: 3, oom_killed: false, last_lines: ['starting', 'out of luck'] } });

  const missing = await app.inject({ url: `/v1/instances/${UUID.replace('d1a6', 'd1a7')}/diagnostics`, headers: auth });
  t.is(missing.statusCode, 404);
});
