import { join } from 'node:path';

/** Everything the benchmark makes carries one of these names, so a later run can find and remove it. */

export const repoRoot = join(import.meta.dirname, '..');
export const resultsDir = join(repoRoot, 'bench/results');
export const vmmBundle = join(repoRoot, 'remotes/lib/dockvisor/vmm.mjs');
export const deployExecutable = join(repoRoot, 'remotes/vmm/dockvisor/deploy');
export const phaseMarksPreload = join(repoRoot, 'bench/phase-marks.mjs');
export const imBundle = join(repoRoot, 'remotes/lib/dockvisor/im.mjs');
const probesDir = join(repoRoot, 'remotes/im/dockvisor-probes.d');
/** The two VM probes monitord runs every few seconds, by the name the report gives them. */
export const VM_PROBES = {
  'vm/monitor': join(probesDir, 'vm/monitor/dockvisor_usage.sh'),
  'vm/status': join(probesDir, 'vm/status/dockvisor_state.sh'),
} as const;
export type VmProbe = keyof typeof VM_PROBES;
/** The <MONITOR_CONFIGURATION> an OpenNebula 7.4 monitord handed a probe on stdin (HOST_ID 1). */
export const probeStdin = join(repoRoot, 'test/fixtures/opennebula-7.4/recorded/probe.stdin.xml');
/** The argv monitord's client gives every probe: hypervisor, host id, host name. */
export const PROBE_ARGV = ['dockvisor', '0', 'localhost'];
/** Peak RSS of a child, from GNU time (Debian package `time`). */
export const GNU_TIME = '/usr/bin/time';
/** The probes' host config and their private state directory, both removed at the end of a run. */
export const monitorConfigPath = join(resultsDir, 'monitor-host-config.json');
export const monitorStateDir = join(resultsDir, 'monitor-state');

export const ENGINE_SOCKET = '/var/run/docker.sock';
export const ENGINE_API = 'v1.41';
export const IMAGE = 'dockvisor/busybox:latest';
export const COMMAND = ['sleep', 'infinity'];

/** The test bridge (198.18.0.0/15 only) and the host's address on it. */
export const BRIDGE = 'dvb-bench0';
export const BRIDGE_ADDRESS = '198.18.200.1/24';
export const VM_PREFIX_LENGTH = 24;
/** Guest addresses are 198.18.200.<FIRST_HOST + n>: two per deploy round (one per kind), then one per phase run. */
export const FIRST_HOST = 10;
export const vmAddress = (n: number) => `198.18.200.${FIRST_HOST + n}`;
/** The burst part's VMs are numbers BURST_FIRST_N.. (after the deploy part's rounds and phase runs); at most 50 fit. */
export const BURST_FIRST_N = 40;

/** OpenNebula VM ids of the deploy kind: containers one-<id>, host veths one-<id>-0. */
export const FIRST_VM_ID = 9700;
export const LAST_VM_ID = 9799;

/** The raw baseline's own names: containers dvb-raw-<n>, veth host end dvb-h<n>, peer dvb-p<n>. */
export const RAW_CONTAINER_PREFIX = 'dvb-raw-';
export const RAW_HOST_PREFIX = 'dvb-h';
export const RAW_PEER_PREFIX = 'dvb-p';
export const BENCH_LABEL = 'io.dockvisor.bench';
export const BENCH_LABEL_VALUE = 'dockvisor-bench';

/**
 * The monitoring bench's fleet: containers one-<id> for ids MONITOR_FIRST_VM_ID.. that look like
 * dockvisor VMs of OpenNebula to the probes (owner, front-end, vm-id and root disk labels) and carry BENCH_LABEL.
 */
export const MONITOR_FIRST_VM_ID = 20_000;
export const MONITOR_MAX_VMS = 5_000;
export const MONITOR_MEMORY_BYTES = 32 * 1024 * 1024;

/** The parts of `npm run bench`; DVB_ONLY=<part>[,<part>...] runs only those. */
export const SECTIONS = ['deploy', 'ovs', 'burst', 'cold-start', 'runtime', 'monitor', 'hosts', 'nova', 'nova-snapshot', 'datastore', 'exec', 'disk'] as const;
export type Section = (typeof SECTIONS)[number];

export interface MonitorPlan {
  /** Numbers of running bench VMs the probes are measured at, ascending; 0 measures the probes' fixed cost. */
  sizes: number[];
  warmup: number;
  runs: number;
  /** Concurrent engine calls while creating and removing the fleet. */
  createConcurrency: number;
  /** Concurrent GET /containers/<id>/stats calls of the stats-endpoint baseline. */
  statsConcurrency: number;
  /** When the whole stats-endpoint pass is expected to take longer (s), it is timed on a random sample and extrapolated. */
  statsBudgetSeconds: number;
  statsSample: number;
  /** Instrumented runs of each probe kind at each size: where the time goes, and the part that depends on the VMs. */
  phaseRuns: number;
}

/** The compute service (`dockvisor compute serve`) of the nova part, and the uuids of its instances. */
export const NOVA_SERVICE_ADDRESS = '127.0.0.1:5313';
export const NOVA_UUID_PREFIX = 'dcb00000-';

export interface NovaPlan {
  warmup: number;
  rounds: number;
  /** Spawns of the throughput batch, and how many are in flight at once. */
  spawns: number;
  concurrency: number;
}

export interface BenchPlan {
  sections: Section[];
  /** Counted rounds of each datastore measurement (after one warm-up). */
  datastoreRounds: number;
  /** Counted attach/detach rounds of the disk part (after its warm-up). */
  diskRounds: number;
  /** Deploys started at once by the burst part (each kind). */
  burstCount: number;
  monitor: MonitorPlan;
  nova: NovaPlan;
  /** Snapshots of one ~30 MB instance into Glance, after warm-up ones. */
  novaSnapshot: { warmup: number; rounds: number };
  deployWarmup: number;
  deployRounds: number;
  coldWarmup: number;
  coldRuns: number;
  /** Timed `dockvisor host provision` and `ls` runs (each against its baseline). */
  hostRuns: number;
  /** Instrumented deploys for the phase breakdown, run only when the deploy ratio misses its goal. */
  phaseRuns: number;
  /** Pause after each teardown so the kernel's namespace cleanup does not spill into the next timed step. */
  settleMs: number;
  /** Limit for any single child process, and for the whole run. */
  childTimeoutMs: number;
  runTimeoutMs: number;
}

export const GOALS = {
  maxDeployRatio: 1.3,
  maxColdStartMs: 80,
  /** Each VM probe at the largest fleet (500 VMs by default), median wall time. */
  maxProbeMs: 1000,
  /** Stats-endpoint time / probe time, at every fleet size. */
  minStatsRatio: 50,
  /** The shim's snapshot into Glance / engine commit + save of the same container, median. */
  maxNovaSnapshotRatio: 1.5,
  /** Linear cost: at the largest size, at most this much above the straight line through the two smallest sizes. */
  maxLinearDeviation: 0.2,
} as const;

function count(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}

function sections(): Section[] {
  const raw = process.env.DVB_ONLY;
  if (raw === undefined || raw.trim() === '') return [...SECTIONS];
  const chosen = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const part of chosen) {
    if (!(SECTIONS as readonly string[]).includes(part)) throw new Error(`DVB_ONLY: "${part}" is not one of ${SECTIONS.join(', ')}`);
  }
  return SECTIONS.filter((section) => chosen.includes(section));
}

function sizes(): number[] {
  const raw = process.env.DVB_MONITOR_SIZES;
  if (raw === undefined || raw.trim() === '') return [0, 200, 500];
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (!values.length || values.some((n) => !Number.isInteger(n) || n < 0 || n > MONITOR_MAX_VMS)) {
    throw new Error(`DVB_MONITOR_SIZES must be whole numbers 0..${MONITOR_MAX_VMS} separated by commas, got "${raw}"`);
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

function monitorPlan(): MonitorPlan {
  return {
    sizes: sizes(),
    warmup: count('DVB_MONITOR_WARMUP', 1, 1),
    runs: count('DVB_MONITOR_RUNS', 5, 1),
    createConcurrency: count('DVB_MONITOR_CREATE_CONCURRENCY', 8, 1),
    statsConcurrency: count('DVB_MONITOR_STATS_CONCURRENCY', 8, 1),
    statsBudgetSeconds: count('DVB_MONITOR_STATS_BUDGET_S', 300, 1),
    statsSample: count('DVB_MONITOR_STATS_SAMPLE', 50, 1),
    phaseRuns: count('DVB_MONITOR_PHASE_RUNS', 9, 0),
  };
}

/**
 * How long the monitoring part may take: creating and removing the fleet (about 0.25 s of engine work a VM,
 * spread over the concurrent calls), the stats-endpoint passes within their budget, and the probe runs.
 */
function monitorTimeoutMs(monitor: MonitorPlan): number {
  const largest = monitor.sizes[monitor.sizes.length - 1] ?? 0;
  const fleetMs = (2 * largest * 2_000) / Math.min(monitor.createConcurrency, 8);
  const statsMs = monitor.sizes.filter((n) => n > 0).length * monitor.statsBudgetSeconds * 1000 * 1.5;
  const probesMs = monitor.sizes.length * 3 * (monitor.warmup + monitor.runs + monitor.phaseRuns) * 10_000;
  return 5 * 60_000 + fleetMs + statsMs + probesMs;
}

/** Defaults from the issue; DVB_DEPLOY_ROUNDS, DVB_COLD_RUNS and the like shorten or lengthen a run. */
export function benchPlan(): BenchPlan {
  const chosen = sections();
  const monitor = monitorPlan();
  const plan: BenchPlan = {
    sections: chosen,
    monitor,
    nova: {
      warmup: count('DVB_NOVA_WARMUP', 2, 0),
      rounds: count('DVB_NOVA_ROUNDS', 10, 1),
      spawns: count('DVB_NOVA_SPAWNS', 24, 1),
      concurrency: count('DVB_NOVA_CONCURRENCY', 8, 1),
    },
    novaSnapshot: { warmup: count('DVB_NOVA_SNAPSHOT_WARMUP', 1, 0), rounds: count('DVB_NOVA_SNAPSHOT_ROUNDS', 7, 1) },
    datastoreRounds: count('DVB_DATASTORE_ROUNDS', 5, 1),
    diskRounds: count('DVB_DISK_ROUNDS', 10, 1),
    burstCount: Math.min(count('DVB_BURST_COUNT', 50, 1), 50),
    deployWarmup: count('DVB_DEPLOY_WARMUP', 2, 0),
    deployRounds: count('DVB_DEPLOY_ROUNDS', 10, 1),
    coldWarmup: count('DVB_COLD_WARMUP', 2, 0),
    coldRuns: count('DVB_COLD_RUNS', 30, 1),
    hostRuns: count('DVB_HOST_RUNS', 5, 1),
    phaseRuns: count('DVB_PHASE_RUNS', 5, 0),
    settleMs: count('DVB_SETTLE_MS', 250, 0),
    childTimeoutMs: 60_000,
    runTimeoutMs:
      (chosen.some((s) => s !== 'monitor') ? 15 * 60_000 : 0) +
      (chosen.includes('hosts') ? 10 * 60_000 : 0) +
      (chosen.includes('monitor') ? monitorTimeoutMs(monitor) : 0),
  };
  const rounds = plan.deployWarmup + plan.deployRounds;
  const vms = rounds + plan.phaseRuns;
  if (vms > LAST_VM_ID - FIRST_VM_ID + 1 || FIRST_HOST + 2 * rounds + plan.phaseRuns > 255) {
    throw new Error(`too many deploy rounds and phase runs (${vms}) for the bench's VM ids and addresses`);
  }
  return plan;
}
