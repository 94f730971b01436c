import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ColdStartResult } from './cold-start-bench.ts';
import type { DeployResult } from './deploy-bench.ts';
import type { PhaseBreakdown } from './deploy-phases.ts';
import { GOALS, resultsDir } from './settings.ts';
import { round, type Summary } from './stats.ts';

export interface BenchReport {
  generatedAt: string;
  machine: { node: string; engineApi: string; cpus: number; loadAverage: number[]; commit: string };
  deploy: DeployResult & { goal: { maxRatio: number; met: boolean }; phases?: PhaseBreakdown };
  coldStart: ColdStartResult & { goal: { maxDifferenceMs: number; met: boolean } };
}

export function deployGoalMet(deploy: DeployResult): boolean {
  return deploy.ratio.median <= GOALS.maxDeployRatio;
}

export function buildReport(machine: BenchReport['machine'], deploy: DeployResult, coldStart: ColdStartResult, phases?: PhaseBreakdown): BenchReport {
  return {
    generatedAt: new Date().toISOString(),
    machine,
    deploy: { ...deploy, goal: { maxRatio: GOALS.maxDeployRatio, met: deployGoalMet(deploy) }, phases },
    coldStart: { ...coldStart, goal: { maxDifferenceMs: GOALS.maxColdStartMs, met: coldStart.differenceMs.median <= GOALS.maxColdStartMs } },
  };
}

/** The report as a table, one row per measured kind, then the two figures the issue sets goals for. */
export function formatReport(report: BenchReport): string {
  const { deploy, coldStart } = report;
  const header = ['', 'n', 'median ms', 'mean ms', 'min ms', 'max ms', 'stdev ms'];
  const row = (name: string, s: Summary) => [name, String(s.n), ...[s.median, s.mean, s.min, s.max, s.stdev].map((x) => x.toFixed(1))];
  const rows = [
    header,
    row('deploy executable', deploy.summary.deploy),
    row('raw baseline', deploy.summary.baseline),
    row('vmm.mjs cold start', coldStart.summary.driver),
    row('node -e 0', coldStart.summary.node),
  ];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  return [
    line(rows[0]!),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(1).map(line),
    '',
    `deploy / baseline (medians): ${deploy.ratio.median.toFixed(2)}  (means: ${deploy.ratio.mean.toFixed(2)})  goal <= ${deploy.goal.maxRatio}: ${verdict(deploy.goal.met)}`,
    `cold start - node -e 0 (medians): ${coldStart.differenceMs.median >= 0 ? '+' : ''}${coldStart.differenceMs.median.toFixed(1)} ms  (means: ${coldStart.differenceMs.mean.toFixed(1)} ms)  goal <= +${coldStart.goal.maxDifferenceMs} ms: ${verdict(coldStart.goal.met)}`,
    `deploy: ${deploy.rounds} rounds after ${deploy.warmup} warm-up, interleaved; cold start: ${coldStart.runs} pairs after ${coldStart.warmup} warm-up`,
    ...(deploy.phases ? ['', ...formatPhases(deploy.phases, deploy.summary.baseline.median, deploy.baselineStepsMs)] : []),
  ].join('\n');
}

/** The phase breakdown, largest first, then the raw baseline's steps as a yardstick. */
function formatPhases(breakdown: PhaseBreakdown, baselineMedian: number, baselineSteps: Record<string, number>): string[] {
  const phases = [...breakdown.phases].sort((a, b) => b.medianMs - a.medianMs);
  const label = (p: { name: string; count: number }) => (p.count > 1 ? `${p.name} (x${p.count})` : p.name);
  const width = Math.max(...phases.map((p) => label(p).length), ...Object.keys(baselineSteps).map((name) => name.length));
  const ms = (value: number) => `${value.toFixed(1).padStart(7)} ms`;
  return [
    `where the deploy executable's time goes (medians of ${breakdown.runs} instrumented runs of ${breakdown.totalMedianMs.toFixed(1)} ms):`,
    ...phases.map((p) => `  ${label(p).padEnd(width)}  ${ms(p.medianMs)}  ${((100 * p.medianMs) / breakdown.totalMedianMs).toFixed(0).padStart(3)}%`),
    `the raw baseline's steps (medians of the timed rounds, ${baselineMedian.toFixed(1)} ms in all):`,
    ...Object.entries(baselineSteps).map(([name, value]) => `  ${name.padEnd(width)}  ${ms(value)}`),
  ];
}

/** Writes bench/results/latest.json (figures rounded to 0.001) and returns its path. */
export function writeReport(report: BenchReport): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, 'latest.json');
  const rounded = JSON.parse(JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' ? round(value, 3) : value))) as BenchReport;
  writeFileSync(path, JSON.stringify(rounded, null, 2) + '\n');
  return path;
}
