import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TimedRun } from './child-process.ts';
import { deployExecutableKind, type KindContext } from './deploy-kinds.ts';
import { phaseMarksPreload, resultsDir } from './settings.ts';
import { summarize } from './stats.ts';

export interface Phase {
  name: string;
  medianMs: number;
  /** How many times it happened in a run (the same engine request may be made more than once). */
  count: number;
}

export interface PhaseBreakdown {
  runs: number;
  /** Median wall time of the instrumented deploys (the preload adds about a millisecond). */
  totalMedianMs: number;
  phases: Phase[];
}

export interface Marks {
  timeOrigin: number;
  marks: [number, string][];
}

/**
 * Where the deploy executable's time goes: a few extra deploys with phase-marks.mjs preloaded, each cut
 * into launcher, node boot, bundle load, every engine request and command, and the driver's own code
 * between them; per phase the median over the runs. Engine calls and commands are found as they
 * happen, so a new call in the driver shows up without a change here.
 */
export async function runDeployPhases(
  ctx: KindContext,
  runs: number,
  firstVm: number,
  addressOf: (i: number) => string,
  settleMs: number,
): Promise<PhaseBreakdown> {
  const marksPath = join(resultsDir, `phase-marks-${process.pid}.json`);
  const instrumented: KindContext = { ...ctx, extraEnv: { NODE_OPTIONS: `--import=${phaseMarksPreload}`, DVB_PHASE_MARKS: marksPath } };
  const perRun: Map<string, { ms: number; count: number }>[] = [];
  const totals: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      ctx.abort.throwIfAborted();
      rmSync(marksPath, { force: true });
      const deployed = await deployExecutableKind.deploy(instrumented, firstVm + i, addressOf(i));
      await deployed.teardown();
      const marks = JSON.parse(readFileSync(marksPath, 'utf8')) as Marks;
      perRun.push(phasesOf(deployed.run!, marks));
      totals.push(deployed.ms);
      await sleep(settleMs, undefined, { signal: ctx.abort });
    }
  } finally {
    rmSync(marksPath, { force: true });
  }
  return summarizePhases(perRun, totals);
}

/** Per phase, the median over the runs (0 in a run where it did not happen). */
export function summarizePhases(perRun: Map<string, { ms: number; count: number }>[], totals: number[]): PhaseBreakdown {
  const names = [...new Set(perRun.flatMap((phases) => [...phases.keys()]))];
  return {
    runs: perRun.length,
    totalMedianMs: summarize(totals).median,
    phases: names.map((name) => ({
      name,
      medianMs: summarize(perRun.map((phases) => phases.get(name)?.ms ?? 0)).median,
      count: Math.round(summarize(perRun.map((phases) => phases.get(name)?.count ?? 0)).median),
    })),
  };
}

/** What the stretches of a run's own code are called: before its first call, and after each call. */
export interface CodeLabels {
  first: string;
  between: string;
}

const DEPLOY_LABELS: CodeLabels = { first: 'stdin, config, VM document (to 1st call)', between: 'driver code between calls' };

/** One run cut into named phases (ms); a name that recurs (the same request twice) adds up. */
export function phasesOf(run: TimedRun, { timeOrigin, marks }: Marks, labels: CodeLabels = DEPLOY_LABELS): Map<string, { ms: number; count: number }> {
  const phases = new Map<string, { ms: number; count: number }>();
  const add = (name: string, ms: number) => {
    const phase = phases.get(name) ?? { ms: 0, count: 0 };
    phases.set(name, { ms: phase.ms + ms, count: phase.count + 1 });
  };
  const at = (what: string) => marks.find(([, m]) => m === what)?.[0];
  const preload = at('preload') ?? 0;
  const main = at('main') ?? preload;
  add('launcher: sh, exec node', timeOrigin - run.startedAt);
  add('node boot', preload);
  add('bundle load (to main)', main - preload);
  let first = true;
  // An action that reads no stdin has no 'main' mark: its code starts at the preload, bundle load included.
  const start = marks.findIndex(([, m]) => m === 'main');
  for (let i = start >= 0 ? start : marks.findIndex(([, m]) => m === 'preload'); i >= 0 && i < marks.length - 1; i++) {
    const [from, what] = marks[i]!;
    const [to] = marks[i + 1]!;
    if (what.startsWith('http> ')) add(`engine ${normalize(what.slice(6))}`, to - from);
    else if (what.startsWith('spawn> ')) add(`command ${normalize(what.slice(7))}`, to - from);
    else if (first) add(labels.first, to - from);
    else add(labels.between, to - from);
    first = false;
  }
  const exit = at('exit') ?? marks[marks.length - 1]?.[0] ?? 0;
  add('process exit', run.startedAt + run.ms - (timeOrigin + exit));
  return phases;
}

/** The same step of different runs under one name: VM and container names, pids, API versions and list filters abstracted. */
function normalize(label: string): string {
  return label
    .replace(/one-[0-9]+/g, 'one-<id>')
    .replace(/filters=[^&]*/, 'filters=<labels>')
    .replace(/fromImage=[^&]*/, 'fromImage=<image>')
    .replace(/\/v2\/.*\/manifests\//, '/v2/<repository>/manifests/')
    .replace(/--target=[0-9]+/g, '--target=<pid>')
    .replace(/\/v1\.[0-9]+\//, '/v*/')
    .replace(/\/images\/[^/]+\//, '/images/<image>/');
}
