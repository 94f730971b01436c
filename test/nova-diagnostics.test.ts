import test from 'ava';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, auth, removeInstances, spawnBody, uuidMaker } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { CgroupLayout } from '../drivers/monitoring/cgroup-layout.ts';
import { readCgroupUsage } from '../drivers/monitoring/cgroup-usage.ts';
import { createBridge, deleteBridge, deleteLink, hostPings, linkExists, linksStartingWith } from './helpers/net.ts';
import { BASE_IMAGE, repoRoot } from './helpers/paths.ts';
import { ShimSteps } from './helpers/shim-steps.ts';
import { testConfigPath } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

// What an operator looks at, on the real engine: the service's diagnostics and host CPU stats, and the same
// through the Nova shim with Debian's nova objects; health, exit codes and OOM kills; resume after a host reboot.

const SERVICE = '127.0.0.1:5319';
const HEALTH_IMAGE = 'dvt-ndiag-health:latest';
const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
const healthy = uuids.next();
const exits = uuids.next();
const oom = uuids.next();
const tap = (uuid: string) => `tap${uuid.slice(0, 11)}`;
let service: ChildProcess | undefined;
let installed: string | undefined;
let shim: ShimSteps | undefined;

async function cleanup(): Promise<void> {
  await removeInstances(await realEngine(), uuids.prefix);
  for (const link of linksStartingWith(`tap${ids.uuidPrefix}`)) deleteLink(link);
  deleteBridge(bridge);
}

async function call(method: string, path: string, payload?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://${SERVICE}${path}`, {
    method,
    headers: { ...auth, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function diagnosticsUntil(uuid: string, found: (body: any) => boolean): Promise<any> {
  let last: any;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    last = (await call('GET', `/v1/instances/${uuid}/diagnostics`)).body;
    if (found(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`diagnostics of ${uuid} never showed what was expected; last: ${JSON.stringify(last)}`);
}

/** The real service, as an operator starts it: the dockvisor command, the token in the environment. */
async function startService(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), 'compute', 'serve', '--listen', SERVICE], {
    env: { ...process.env, DOCKVISOR_COMPUTE_TOKEN: TOKEN, DOCKVISOR_CONFIG: testConfigPath({ shutdownTimeoutSeconds: 3 }, 'nova-diagnostics.json') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`http://${SERVICE}/openapi.json`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`the compute service did not start on ${SERVICE}: ${stderr.trim().slice(0, 300)}`);
}

test.before(async () => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import nova.virt.driver'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`python3-nova is not installed (${probe.stderr.trim().split('\n').pop()}): run scripts/setup.sh`);
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
  const context = mkdtempSync(join(tmpdir(), 'dvt-ndiag-'));
  writeFileSync(join(context, 'Dockerfile'), `FROM ${BASE_IMAGE}\nHEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD true\n`);
  execFileSync('docker', ['build', '-q', '-t', HEALTH_IMAGE, context], { stdio: 'ignore' });
  rmSync(context, { recursive: true, force: true });
  installed = mkdtempSync(join(tmpdir(), 'dvt-nova-diag-'));
  const install = spawnSync('bash', [join(repoRoot, 'packaging/nova/install.sh'), '--target', installed], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
  service = await startService();
  shim = ShimSteps.start('nova_shim_diagnostics.py', {
    DVT_SHIM_PATH: installed,
    DVT_URL: `http://${SERVICE}`,
    DVT_TOKEN: TOKEN,
    DVT_BRIDGE: bridge,
    DVT_SUBNET: ids.network(0),
    DVT_IMAGE: BASE_IMAGE,
  });
  const vif = { id: healthy, address: '02:00:c6:12:c4:14', bridge, ips: [{ address: ids.address(0, 20), prefix: 24 }], gateway: ids.address(0, 1), dns: [] };
  const spawned = [
    await call('POST', '/v1/instances', spawnBody(healthy, { image: HEALTH_IMAGE, network_info: [vif] })),
    await call('POST', '/v1/instances', spawnBody(exits, { command: ['sh', '-c', 'echo going; sleep 2; echo away; exit 3'] })),
    await call('POST', '/v1/instances', {
      ...spawnBody(oom, { command: ['sh', '-c', 'echo filling; sleep 2; x=$(head -c 200000000 /dev/zero | tr "\\0" a)'] }),
      flavor: { vcpus: 1, memory_mb: 16, root_gb: 1 },
    }),
  ];
  for (const answer of spawned) if (answer.status !== 201) throw new Error(`spawn: ${JSON.stringify(answer.body)}`);
});

test.after.always(async () => {
  await shim?.close();
  if (service && service.exitCode === null) {
    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  if (installed) rmSync(installed, { recursive: true, force: true });
  await cleanup();
  await (await realEngine()).removeImage(HEALTH_IMAGE).catch(() => undefined);
});

test.serial("a running instance's diagnostics: its cgroup's CPU, memory and disk, its NIC's counters and MAC, its HEALTHCHECK", async (t) => {
  t.true(hostPings(ids.address(0, 20)), 'the instance answers on its VIF');
  const body = await diagnosticsUntil(healthy, (b) => b.health === 'healthy');
  t.like(body, { uuid: healthy, state: 'RUNNING', power_state: 1, hypervisor: 'docker', last_exit: null, memory_details: { maximum: 64 } });
  t.true(body.uptime >= 0 && body.uptime < 600, `uptime ${body.uptime}`);
  t.is(body.cpu_details.length, 1);
  t.true(body.cpu_details[0].time > 0, 'CPU time from the cgroup');
  t.true(body.memory_details.used >= 0 && body.memory_details.used <= 64, `memory used ${body.memory_details.used} MiB`);
  t.like(body.nic_details, [{ name: 'eth0', mac_address: '02:00:c6:12:c4:14' }]);
  t.true(body.nic_details[0].rx_packets > 0 && body.nic_details[0].tx_packets > 0, 'the ping went in and its answer out');
  // The block I/O the instance's cgroup counts (none on a host whose kernel charges no I/O to it, as here).
  const cgroup = readCgroupUsage(new CgroupLayout(), (await (await realEngine()).inspectContainer(`nova-${healthy}`)).Id)!;
  t.like(body.disk_details, [
    {
      name: 'vda',
      read_bytes: cgroup.diskReadBytes,
      read_requests: cgroup.diskReadOps,
      write_bytes: cgroup.diskWriteBytes,
      write_requests: cgroup.diskWriteOps,
    },
  ]);

  const seen = await shim!.step('diagnostics', healthy);
  t.is(seen.class, 'nova.objects.diagnostics.Diagnostics');
  t.like(seen.api, {
    state: 'running',
    driver: null,
    hypervisor: 'docker',
    hypervisor_os: 'linux',
    config_drive: false,
    num_cpus: 1,
    num_nics: 1,
    num_disks: 1,
  });
  t.like(seen.api.memory_details, { maximum: 64 });
  t.like(seen.api.nic_details[0], { mac_address: '02:00:c6:12:c4:14' });
  t.true(seen.api.cpu_details[0].time > 0);
  t.like(seen.legacy, { state: 'running', health: 'healthy', memory: 64 * 1024 });
  t.true(seen.legacy.cpu0_time > 0 && seen.legacy.eth0_rx > 0 && seen.legacy.vda_write >= 0);
  t.false('exit_code' in seen.legacy);
});

test.serial('block_stats gives the root disk as [rd_req, rd_bytes, wr_req, wr_bytes, errs], None for a disk it has not', async (t) => {
  const stats = (await shim!.step('block_stats', healthy, 'vda')).stats as number[];
  t.is(stats.length, 5);
  t.true(stats.every((value) => Number.isInteger(value) && value >= 0));
  t.deepEqual((await shim!.step('block_stats', healthy, '/dev/vda')).stats, stats, 'the same disk by its device path');
  t.is((await shim!.step('block_stats', healthy, 'vdb')).stats, null);
});

test.serial("get_host_cpu_stats: the host's CPU times since boot in nanoseconds and its frequency", async (t) => {
  const stats = (await shim!.step('cpu_stats')).stats;
  t.deepEqual(Object.keys(stats).sort(), ['frequency', 'idle', 'iowait', 'kernel', 'user']);
  const idleTicks = Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)[4]);
  t.true(stats.idle <= idleTicks * 1e7 && stats.idle > (idleTicks - 100_000) * 1e7, `idle ${stats.idle} ns against ${idleTicks} ticks now`);
  t.true(stats.user > 0 && stats.kernel > 0 && stats.iowait >= 0 && stats.frequency >= 0);
});

test.serial('an instance that exits by itself is CRASHED, with its exit code and last lines in its diagnostics', async (t) => {
  const body = await diagnosticsUntil(exits, (b) => b.last_exit !== null);
  t.like(body, { state: 'CRASHED', power_state: 6, uptime: null, health: null, cpu_details: [], nic_details: [], disk_details: [] });
  t.like(body.last_exit, { exit_code: 3, oom_killed: false, last_lines: ['going', 'away'] });
  const seen = await shim!.step('diagnostics', exits);
  t.like(seen.api, { state: 'crashed', num_cpus: 0 });
  t.like(seen.legacy, { state: 'crashed', exit_code: 3, oom_killed: false, last_output: 'going\naway' });
});

test.serial("the exit becomes the instance's fault in nova's database, once however often nova-compute looks", async (t) => {
  await diagnosticsUntil(exits, (b) => b.last_exit !== null);
  const seen = await shim!.step('faults', exits);
  t.deepEqual(seen.states, [6, 6]);
  t.is(seen.faults.length, 1);
  t.like(seen.faults[0], { code: 500, host: 'diag-compute', message: 'exited by itself with code 3; last output: going | away' });
  t.regex(seen.faults[0].details, /^exited at \S+\nexited by itself with code 3; last output: going \| away\nlast output:\ngoing\naway$/);
});

test.serial('an OOM kill is the fault too, named as such', async (t) => {
  await diagnosticsUntil(oom, (b) => b.last_exit !== null);
  const seen = await shim!.step('faults', oom);
  t.is(seen.faults.length, 1);
  t.regex(seen.faults[0].message, /^killed by the kernel for want of memory \(out of memory\); last output: filling/);
});

test.serial('an instance the kernel killed for memory is CRASHED and named as an OOM kill', async (t) => {
  const body = await diagnosticsUntil(oom, (b) => b.last_exit !== null);
  t.like(body, { state: 'CRASHED', last_exit: { exit_code: 137, oom_killed: true, last_lines: ['filling'] } });
  t.is((await call('GET', `/v1/instances/${oom}`)).body.state, 'CRASHED');
  t.like((await shim!.step('diagnostics', oom)).legacy, { state: 'crashed', exit_code: 137, oom_killed: true });
});

test.serial('after a host reboot a running instance comes back running with its VIF plugged; a stopped one stays stopped', async (t) => {
  const running = uuids.next();
  const stopped = uuids.next();
  t.is((await shim!.step('spawn', running)).state, 1);
  t.is((await shim!.step('spawn', stopped)).state, 1);
  t.is((await call('POST', `/v1/instances/${stopped}/power-off`, { timeout: 0 })).status, 200);
  // What a reboot leaves: every container stopped, the interfaces gone with their namespaces.
  execFileSync('docker', ['kill', `nova-${running}`], { stdio: 'ignore' });
  for (let i = 0; i < 50 && linkExists(tap(running)); i++) await new Promise((resolve) => setTimeout(resolve, 200));
  t.false(linkExists(tap(running)), 'the host end went with the namespace');

  t.is((await shim!.step('resume_on_boot', running, 'RUNNING')).state, 1);
  t.true(linkExists(tap(running)), 'its VIF is plugged again');
  t.is((await shim!.step('resume_on_boot', stopped, 'SHUTDOWN')).state, 4);
  t.false(linkExists(tap(stopped)));
});

test.serial('no serial console: ConsoleTypeUnavailable, as nova-compute expects of a console type a driver lacks', async (t) => {
  t.like(await shim!.step('serial_console', healthy), { raised: 'nova.exception.ConsoleTypeUnavailable' });
});

test.serial('diagnostics of an instance that is not there: 404 from the service, InstanceNotFound through the shim', async (t) => {
  const absent = uuids.next();
  t.is((await call('GET', `/v1/instances/${absent}/diagnostics`)).status, 404);
  t.is((await call('GET', '/v1/instances/NOT-A-UUID/diagnostics')).status, 400);
  t.like(await shim!.step('missing', absent), { raised: 'nova.exception.InstanceNotFound' });
});
