import { join } from 'node:path';

/** Everything the benchmark makes carries one of these names, so a later run can find and remove it. */

export const repoRoot = join(import.meta.dirname, '..');
export const resultsDir = join(repoRoot, 'bench/results');
export const vmmBundle = join(repoRoot, 'remotes/lib/dockvisor/vmm.mjs');
export const deployExecutable = join(repoRoot, 'remotes/vmm/dockvisor/deploy');
export const phaseMarksPreload = join(repoRoot, 'bench/phase-marks.mjs');

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

/** OpenNebula VM ids of the deploy kind: containers one-<id>, host veths one-<id>-0. */
export const FIRST_VM_ID = 9700;
export const LAST_VM_ID = 9799;

/** The raw baseline's own names: containers dvb-raw-<n>, veth host end dvb-h<n>, peer dvb-p<n>. */
export const RAW_CONTAINER_PREFIX = 'dvb-raw-';
export const RAW_HOST_PREFIX = 'dvb-h';
export const RAW_PEER_PREFIX = 'dvb-p';
export const BENCH_LABEL = 'io.dockvisor.bench';
export const BENCH_LABEL_VALUE = 'dockvisor-bench';

export interface BenchPlan {
  deployWarmup: number;
  deployRounds: number;
  coldWarmup: number;
  coldRuns: number;
  /** Instrumented deploys for the phase breakdown, run only when the deploy ratio misses its goal. */
  phaseRuns: number;
  /** Pause after each teardown so the kernel's namespace cleanup does not spill into the next timed step. */
  settleMs: number;
  /** Limit for any single child process, and for the whole run. */
  childTimeoutMs: number;
  runTimeoutMs: number;
}

export const GOALS = { maxDeployRatio: 1.3, maxColdStartMs: 80 } as const;

function count(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}

/** Defaults from the issue; DVB_DEPLOY_ROUNDS, DVB_COLD_RUNS and the like shorten or lengthen a run. */
export function benchPlan(): BenchPlan {
  const plan: BenchPlan = {
    deployWarmup: count('DVB_DEPLOY_WARMUP', 2, 0),
    deployRounds: count('DVB_DEPLOY_ROUNDS', 10, 1),
    coldWarmup: count('DVB_COLD_WARMUP', 2, 0),
    coldRuns: count('DVB_COLD_RUNS', 30, 1),
    phaseRuns: count('DVB_PHASE_RUNS', 5, 0),
    settleMs: count('DVB_SETTLE_MS', 250, 0),
    childTimeoutMs: 60_000,
    runTimeoutMs: 15 * 60_000,
  };
  const rounds = plan.deployWarmup + plan.deployRounds;
  const vms = rounds + plan.phaseRuns;
  if (vms > LAST_VM_ID - FIRST_VM_ID + 1 || FIRST_HOST + 2 * rounds + plan.phaseRuns > 255) {
    throw new Error(`too many deploy rounds and phase runs (${vms}) for the bench's VM ids and addresses`);
  }
  return plan;
}
