import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { userStateDir } from '../drivers/core/state-dir.ts';
import { childEnv, describeFailure, runTimed, type TimedRun } from './child-process.ts';
import { phasesOf, summarizePhases, type Marks, type PhaseBreakdown } from './deploy-phases.ts';
import { growFleet, isFleetVmId, runningFleet } from './monitor-fleet.ts';
import type { RawEngine } from './raw-engine.ts';
import {
  GNU_TIME,
  GOALS,
  monitorConfigPath,
  monitorStateDir,
  phaseMarksPreload,
  PROBE_ARGV,
  probeStdin,
  resultsDir,
  VM_PROBES,
  type MonitorPlan,
  type VmProbe,
} from './settings.ts';
import { statsEndpointBaseline, type StatsEndpointResult } from './stats-endpoint.ts';
import { summarize, type Summary } from './stats.ts';

/**
 * A way monitord's runs of a probe find it. vm/monitor mostly runs with the CPU samples and the disk
 * sizes its previous runs left; every 5 minutes it measures the disk sizes again (a slower list call).
 * vm/status is timed from no state: a full report (SYNC_STATE) listing every VM, its costliest run.
 */
interface ProbeKind {
  name: string;
  probe: VmProbe;
  /** State files (by prefix) removed before each run. */
  fresh: string[];
}

export const PROBE_KINDS: ProbeKind[] = [
  { name: 'vm/monitor', probe: 'vm/monitor', fresh: [] },
  { name: 'vm/monitor, disk sizes due', probe: 'vm/monitor', fresh: ['disk-sizes-'] },
  { name: 'vm/status, full report', probe: 'vm/status', fresh: ['vm-status-'] },
];

export interface ProbeRuns {
  samplesMs: number[];
  summary: Summary;
  /** Peak resident set of each counted run (KB, GNU time's %M). */
  peakRssKb: number[];
  rss: Summary;
  /** Runs that found more to do than their kind (a VM met for the first time, disk sizes due): run again, not counted. */
  rerun: number;
  /** Counted runs whose output, read through a 64 KB pipe as monitord's client reads it, lacked some of the bench VMs. */
  incomplete: number;
  /** The fewest bench VMs a counted run reported, and the most output bytes one gave. */
  fewestVms: number;
  maxOutputBytes: number;
  /**
   * Instrumented runs (phase-marks.mjs preloaded): where the time goes, and the part that depends on the
   * number of VMs, measured inside the process (engine calls and the probe's code after them, ms).
   */
  phases?: PhaseBreakdown;
  vmWorkMs?: number;
}

export interface MonitorSize {
  /** Running bench VMs. */
  vms: number;
  /** Other VMs of OpenNebula on this host (not the bench's) that the probes reported as well. */
  otherVms: number;
  /** By probe kind. */
  probes: Record<string, ProbeRuns>;
  /** Absent with no VM to read (size 0). */
  statsEndpoint?: StatsEndpointResult;
  /** Stats-endpoint time / each probe kind's median. */
  ratio?: Record<string, number>;
}

/** From one size to the next: what each added VM costs, by probe kind. */
export interface MonitorStep {
  from: number;
  to: number;
  /** Growth of the median wall time per added VM (ms). */
  msPerVm: Record<string, number>;
  /** Growth of the in-process part that depends on the VMs, per added VM (ms). */
  vmWorkMsPerVm: Record<string, number>;
  /** Growth of the median peak RSS per added VM (KB). */
  rssKbPerVm: Record<string, number>;
}

export interface MonitorGoals {
  maxProbeMs: number;
  minStatsRatio: number;
  maxLinearDeviation: number;
  /** Every kind's median at the largest size under maxProbeMs. */
  fast: boolean;
  /** Every counted run, at every size, reported every bench VM. */
  complete: boolean;
  /** Stats-endpoint time at least minStatsRatio × every kind's median, at every size with VMs; undefined with none. */
  ratio?: boolean;
  /**
   * At the largest size, every kind's part that depends on the VMs (in-process) within (1 + maxLinearDeviation)
   * × the straight line through the two smallest sizes; undefined with fewer than three sizes or no instrumented runs.
   */
  linear?: boolean;
  /** By kind: that part at the largest size / the line's value there; and the same for the whole wall time. */
  linearity?: Record<string, number>;
  wallLinearity?: Record<string, number>;
}

export interface MonitorResult {
  warmup: number;
  runs: number;
  phaseRuns: number;
  probeCommand: string;
  statsCommand: string;
  statsConcurrency: number;
  sizes: MonitorSize[];
  steps: MonitorStep[];
  goals: MonitorGoals;
}

export interface MonitorContext {
  engine: RawEngine;
  timeoutMs: number;
  abort: AbortSignal;
}

const VM_LINE = /^VM = \[ ID="([0-9]+)", DEPLOY_ID="[^"]*", (?:MONITOR|STATE)="[^"]*" \]$/gm;
const PHASE_LABELS = { first: 'stdin, config (to 1st call)', between: 'probe code after the call: cgroups, state, output' };

/**
 * The VM probes run as monitord's client runs them, at each fleet size in turn (the fleet only grows),
 * then a few instrumented runs of each, then the engine's per-container stats endpoint reading the same VMs.
 */
export async function runMonitorBench(ctx: MonitorContext, plan: MonitorPlan, progress: (line: string) => void): Promise<MonitorResult> {
  writeProbeConfig();
  const stdin = readFileSync(probeStdin, 'utf8');
  const sizes: MonitorSize[] = [];
  let running = 0;
  for (const size of plan.sizes) {
    if (size > running) {
      progress(`monitor: growing the fleet from ${running} to ${size} VMs, ${plan.createConcurrency} at a time`);
      await growFleet(ctx.engine, running, size, plan.createConcurrency, ctx.abort, progress);
      running = size;
      await sleep(5_000, undefined, { signal: ctx.abort }); // let the engine and the new containers settle
    }
    const fleet = await runningFleet(ctx.engine);
    if (fleet.size !== size) throw new Error(`${fleet.size} bench VMs are running, ${size} expected`);

    const runs = new Map(
      PROBE_KINDS.map((kind) => [kind.name, { ms: [] as number[], rssKb: [] as number[], rerun: 0, incomplete: 0, fewestVms: size, maxOutputBytes: 0 }]),
    );
    let otherVms = 0;
    for (let round = 0; round < plan.warmup + plan.runs; round++) {
      const counted = round >= plan.warmup;
      const line: string[] = [];
      for (const kind of PROBE_KINDS) {
        const record = runs.get(kind.name)!;
        const run = counted ? await steadyRun(ctx, kind, stdin, size, () => (record.rerun += 1)) : await runProbe(ctx, kind, stdin, size);
        if (counted) {
          record.ms.push(run.ms);
          record.rssKb.push(run.rssKb);
          if (run.reported < size) record.incomplete += 1;
          record.fewestVms = Math.min(record.fewestVms, run.reported);
          record.maxOutputBytes = Math.max(record.maxOutputBytes, Buffer.byteLength(run.run.stdout));
        }
        otherVms = Math.max(otherVms, run.otherVms);
        const cut = run.reported < size ? ` (output cut: ${run.reported} VMs, ${Buffer.byteLength(run.run.stdout)} B)` : '';
        line.push(`${kind.name} ${run.ms.toFixed(0)} ms ${(run.rssKb / 1024).toFixed(1)} MB${cut}`);
      }
      progress(`monitor: ${size} VMs, ${counted ? `run ${round - plan.warmup + 1}/${plan.runs}` : `warm-up ${round + 1}/${plan.warmup}`}: ${line.join(', ')}`);
    }
    const probes: Record<string, ProbeRuns> = {};
    for (const [name, r] of runs) {
      const { ms, rssKb, ...counts } = r;
      probes[name] = { samplesMs: ms, summary: summarize(ms), peakRssKb: rssKb, rss: summarize(rssKb), ...counts };
    }

    if (plan.phaseRuns > 0) {
      const perRun = new Map(PROBE_KINDS.map((kind) => [kind.name, { phases: [] as Map<string, { ms: number; count: number }>[], totals: [] as number[] }]));
      for (let i = 0; i < plan.phaseRuns; i++) {
        for (const kind of PROBE_KINDS) {
          const { phases, run } = await instrumentedRun(ctx, kind, stdin, size, () => (probes[kind.name]!.rerun += 1));
          perRun.get(kind.name)!.phases.push(phases);
          perRun.get(kind.name)!.totals.push(run.ms);
        }
      }
      for (const [name, { phases, totals }] of perRun) {
        probes[name]!.phases = summarizePhases(phases, totals);
        probes[name]!.vmWorkMs = summarize(phases.map(vmWork)).median;
      }
      progress(
        `monitor: ${size} VMs, ${plan.phaseRuns} instrumented runs each; engine calls + probe code: ` +
          PROBE_KINDS.map((kind) => `${kind.name} ${probes[kind.name]!.vmWorkMs!.toFixed(0)} ms`).join(', '),
      );
    }

    let statsEndpoint: StatsEndpointResult | undefined;
    let ratio: Record<string, number> | undefined;
    if (size > 0) {
      progress(`monitor: ${size} VMs, stats endpoint, ${plan.statsConcurrency} calls at a time`);
      statsEndpoint = await statsEndpointBaseline(plan.statsConcurrency, plan.statsSample, plan.statsBudgetSeconds * 1000, ctx.abort, progress);
      ratio = Object.fromEntries(PROBE_KINDS.map((kind) => [kind.name, statsEndpoint!.ms / probes[kind.name]!.summary.median]));
    }
    sizes.push({ vms: size, otherVms, probes, statsEndpoint, ratio });
  }

  return {
    warmup: plan.warmup,
    runs: plan.runs,
    phaseRuns: plan.phaseRuns,
    probeCommand: `${GNU_TIME} -f %M <launcher> ${PROBE_ARGV.join(' ')}, <MONITOR_CONFIGURATION> on stdin`,
    statsCommand: 'GET /containers/json (owned), then GET /containers/<id>/stats?stream=false for each running VM',
    statsConcurrency: plan.statsConcurrency,
    sizes,
    steps: steps(sizes),
    goals: goals(sizes),
  };
}

/** The probes' host config: never pull, and a state directory of their own (emptied now). */
function writeProbeConfig(): void {
  rmSync(monitorStateDir, { recursive: true, force: true });
  mkdirSync(monitorStateDir, { recursive: true });
  writeFileSync(monitorConfigPath, JSON.stringify({ stateDir: monitorStateDir, imagePull: 'never' }) + '\n');
}

interface ProbeRun {
  ms: number;
  rssKb: number;
  /** Bench VMs in its output. */
  reported: number;
  otherVms: number;
  /** It did more than its kind does: sampled a VM it had not seen twice, or measured disk sizes not due. */
  extraWork: boolean;
  run: TimedRun;
}

/** A counted run: one that did more than its kind does is run again (at most 3 times) and counted by `onRerun`. */
async function steadyRun(ctx: MonitorContext, kind: ProbeKind, stdin: string, fleet: number, onRerun: () => void): Promise<ProbeRun> {
  let run = await runProbe(ctx, kind, stdin, fleet);
  for (let retry = 0; run.extraWork && retry < 3; retry++) {
    onRerun();
    run = await runProbe(ctx, kind, stdin, fleet);
  }
  return run;
}

/**
 * One probe run: the launcher under GNU time (for the peak RSS), or with phase-marks.mjs preloaded when
 * `extraEnv` says so; argv, stdin and a 64 KB stdout pipe as monitord's client (Ruby's Open3) gives them.
 * A run that fails is an error; one whose output lacks bench VMs is timed and counted as incomplete.
 */
async function runProbe(ctx: MonitorContext, kind: ProbeKind, stdin: string, fleet: number, extraEnv: Record<string, string> = {}): Promise<ProbeRun> {
  for (const prefix of kind.fresh) removeState(prefix);
  const before = { cpu: cpuSampleIds(), disks: diskSizesTime() };
  const rssPath = join(resultsDir, `monitor-rss-${process.pid}.txt`);
  rmSync(rssPath, { force: true });
  const instrumented = Object.keys(extraEnv).length > 0;
  const launcher = VM_PROBES[kind.probe];
  const [file, args] = instrumented ? [launcher, PROBE_ARGV] : [GNU_TIME, ['-f', '%M', '-o', rssPath, launcher, ...PROBE_ARGV]];
  const run = await runTimed(file, args, {
    stdin,
    env: childEnv({ DOCKVISOR_CONFIG: monitorConfigPath, ...extraEnv }),
    timeoutMs: ctx.timeoutMs,
    abort: ctx.abort,
    stdoutPipe: true,
  });
  try {
    if (run.code !== 0) throw new Error(describeFailure(`${kind.probe} probe`, run));
    const ids = [...run.stdout.matchAll(VM_LINE)].map((match) => match[1]!);
    const ours = ids.filter(isFleetVmId).length;
    if (ours > fleet) throw new Error(`${kind.probe} probe reported ${ours} bench VMs, ${fleet} are running`);
    if (kind.probe === 'vm/status' && !/^SYNC_STATE=yes$/m.test(run.stdout)) throw new Error('vm/status probe did not make a full report from an empty state');
    // The engine leaves SizeRw out for an empty writable layer (the fleet's are), so what is checked is that sizes were measured.
    if (kind.fresh.includes('disk-sizes-') && fleet > 0 && diskSizesTime() === undefined) {
      throw new Error('vm/monitor probe did not measure the disk sizes when they were due');
    }
    const rssKb = instrumented ? 0 : Number(readFileSync(rssPath, 'utf8').trim().split('\n').pop());
    if (!instrumented && !Number.isFinite(rssKb)) throw new Error(`${GNU_TIME} left no peak RSS for the ${kind.probe} probe`);
    const newVms = kind.probe === 'vm/monitor' && [...cpuSampleIds()].some((id) => !before.cpu.has(id));
    const unexpectedSizes = kind.probe === 'vm/monitor' && !kind.fresh.includes('disk-sizes-') && diskSizesTime() !== before.disks;
    return { ms: run.ms, rssKb, reported: ours, otherVms: ids.length - ours, extraWork: newVms || unexpectedSizes, run };
  } finally {
    rmSync(rssPath, { force: true });
  }
}

/** A run with phase-marks.mjs preloaded, cut into node boot, bundle load, engine calls and probe code. */
async function instrumentedRun(
  ctx: MonitorContext,
  kind: ProbeKind,
  stdin: string,
  fleet: number,
  onRerun: () => void,
): Promise<{ phases: Map<string, { ms: number; count: number }>; run: TimedRun }> {
  const marksPath = join(resultsDir, `phase-marks-${process.pid}.json`);
  const extraEnv = { NODE_OPTIONS: `--import=${phaseMarksPreload}`, DVB_PHASE_MARKS: marksPath };
  try {
    for (let attempt = 0; ; attempt++) {
      ctx.abort.throwIfAborted();
      rmSync(marksPath, { force: true });
      const probeRun = await runProbe(ctx, kind, stdin, fleet, extraEnv);
      if (probeRun.extraWork && attempt < 3) {
        onRerun();
        continue;
      }
      return { phases: phasesOf(probeRun.run, JSON.parse(readFileSync(marksPath, 'utf8')) as Marks, PHASE_LABELS), run: probeRun.run };
    }
  } finally {
    rmSync(marksPath, { force: true });
  }
}

/** The part of a run that depends on the VMs: its engine calls and its own code after them. */
function vmWork(phases: Map<string, { ms: number; count: number }>): number {
  let ms = 0;
  for (const [name, phase] of phases) if (name.startsWith('engine ') || name === PHASE_LABELS.between) ms += phase.ms;
  return ms;
}

/** Container ids whose CPU sample vm/monitor left for its next run. */
function cpuSampleIds(): Set<string> {
  const ids = new Set<string>();
  for (const name of stateFiles('vm-cpu-')) for (const id of Object.keys(readStateFile<{ cpu?: object }>(name)?.cpu ?? {})) ids.add(id);
  return ids;
}

/** When vm/monitor last measured the disk sizes. */
function diskSizesTime(): number | undefined {
  const name = stateFiles('disk-sizes-')[0];
  return name ? readStateFile<{ time?: number }>(name)?.time : undefined;
}

function readStateFile<T>(name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(probeStateDir(), name), 'utf8')) as T;
  } catch {
    return undefined; // half written or gone
  }
}

function stateFiles(prefix: string): string[] {
  try {
    return readdirSync(probeStateDir()).filter((name) => name.startsWith(prefix) && name.endsWith('.json'));
  } catch {
    return [];
  }
}

function removeState(prefix: string): void {
  for (const name of stateFiles(prefix)) rmSync(join(probeStateDir(), name), { force: true });
}

function steps(sizes: MonitorSize[]): MonitorStep[] {
  return sizes.slice(1).map((to, i) => {
    const from = sizes[i]!;
    const per = (value: (s: MonitorSize, kind: string) => number | undefined) =>
      Object.fromEntries(
        PROBE_KINDS.flatMap(({ name }) => {
          const [a, b] = [value(from, name), value(to, name)];
          return a === undefined || b === undefined ? [] : [[name, (b - a) / (to.vms - from.vms)]];
        }),
      );
    return {
      from: from.vms,
      to: to.vms,
      msPerVm: per((s, kind) => s.probes[kind]?.summary.median),
      vmWorkMsPerVm: per((s, kind) => s.probes[kind]?.vmWorkMs),
      rssKbPerVm: per((s, kind) => s.probes[kind]?.rss.median),
    };
  });
}

function goals(sizes: MonitorSize[]): MonitorGoals {
  const largest = sizes[sizes.length - 1];
  const withStats = sizes.filter((s) => s.ratio);
  const kinds = PROBE_KINDS.map((kind) => kind.name);
  const result: MonitorGoals = {
    maxProbeMs: GOALS.maxProbeMs,
    minStatsRatio: GOALS.minStatsRatio,
    maxLinearDeviation: GOALS.maxLinearDeviation,
    fast: !!largest && kinds.every((kind) => largest.probes[kind]!.summary.median < GOALS.maxProbeMs),
    complete: sizes.every((s) => kinds.every((kind) => s.probes[kind]!.incomplete === 0)),
    ratio: withStats.length ? withStats.every((s) => kinds.every((kind) => s.ratio![kind]! >= GOALS.minStatsRatio)) : undefined,
  };
  if (sizes.length >= 3 && largest) {
    const [a, b] = [sizes[0]!, sizes[1]!];
    const againstLine = (value: (s: MonitorSize) => number | undefined) => {
      const [va, vb, vl] = [value(a), value(b), value(largest)];
      if (va === undefined || vb === undefined || vl === undefined) return undefined;
      return vl / (va + ((vb - va) * (largest.vms - a.vms)) / (b.vms - a.vms));
    };
    result.wallLinearity = Object.fromEntries(kinds.map((kind) => [kind, againstLine((s) => s.probes[kind]!.summary.median)!]));
    if (kinds.every((kind) => largest.probes[kind]!.vmWorkMs !== undefined)) {
      result.linearity = Object.fromEntries(kinds.map((kind) => [kind, againstLine((s) => s.probes[kind]!.vmWorkMs)!]));
      result.linear = kinds.every((kind) => result.linearity![kind]! <= 1 + GOALS.maxLinearDeviation);
    }
  }
  return result;
}

/** Where the probes keep their state: their user's own directory inside the configured one. */
function probeStateDir(): string {
  return userStateDir({ stateDir: monitorStateDir });
}
