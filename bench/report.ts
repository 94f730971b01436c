import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ColdStartResult } from './cold-start-bench.ts';
import type { DeployResult } from './deploy-bench.ts';
import { formatBurst, type BurstResult } from './deploy-burst.ts';
import { formatDatastore, type DatastoreResult } from './datastore-bench.ts';
import { formatDisk, type DiskResult } from './disk-bench.ts';
import type { PhaseBreakdown } from './deploy-phases.ts';
import { formatExec, type ExecResult } from './exec-bench.ts';
import { formatHosts, type HostsResult } from './hosts-bench.ts';
import { PROBE_KINDS, type MonitorResult } from './monitor-bench.ts';
import { formatNova, formatNovaSnapshot } from './nova-report.ts';
import { formatRuntime, type RuntimeResult } from './runtime-bench.ts';
import type { NovaResult } from './nova-bench.ts';
import type { NovaSnapshotResult } from './nova-snapshot-bench.ts';
import { GOALS, resultsDir } from './settings.ts';
import { round, type Summary } from './stats.ts';

/** One run's figures; a part left out by DVB_ONLY is absent. */
export interface BenchReport {
  generatedAt: string;
  machine: { node: string; engineApi: string; cpus: number; loadAverage: number[]; commit: string };
  deploy?: DeployResult & { goal: { maxRatio: number; met: boolean }; phases?: PhaseBreakdown };
  /** The deploy with one NIC on an Open vSwitch bridge, against the same engine, ip and ovs-vsctl work. */
  ovsDeploy?: DeployResult & { goal: { maxRatio: number; met: boolean } };
  burst?: BurstResult;
  coldStart?: ColdStartResult & { goal: { maxDifferenceMs: number; met: boolean } };
  runtime?: RuntimeResult;
  monitor?: MonitorResult;
  hosts?: HostsResult;
  nova?: NovaResult;
  novaSnapshot?: NovaSnapshotResult & { goal: { maxRatio: number; met: boolean } };
  datastore?: DatastoreResult;
  exec?: ExecResult;
  disk?: DiskResult;
}

export interface BenchParts {
  deploy?: DeployResult;
  ovsDeploy?: DeployResult;
  burst?: BurstResult;
  phases?: PhaseBreakdown;
  coldStart?: ColdStartResult;
  runtime?: RuntimeResult;
  monitor?: MonitorResult;
  hosts?: HostsResult;
  nova?: NovaResult;
  novaSnapshot?: NovaSnapshotResult;
  datastore?: DatastoreResult;
  exec?: ExecResult;
  disk?: DiskResult;
}

/** The deploy goal, with the action agent running when the run had one (without it, each action starts node). */
export function deployGoalMet(deploy: DeployResult): boolean {
  return (deploy.agentRatio ?? deploy.ratio).median <= GOALS.maxDeployRatio;
}

export function buildReport(
  machine: BenchReport['machine'],
  { deploy, ovsDeploy, burst, phases, coldStart, runtime, monitor, hosts, nova, novaSnapshot, datastore, exec, disk }: BenchParts,
): BenchReport {
  return {
    generatedAt: new Date().toISOString(),
    machine,
    deploy: deploy && { ...deploy, goal: { maxRatio: GOALS.maxDeployRatio, met: deployGoalMet(deploy) }, phases },
    ovsDeploy: ovsDeploy && { ...ovsDeploy, goal: { maxRatio: GOALS.maxDeployRatio, met: deployGoalMet(ovsDeploy) } },
    burst,
    coldStart: coldStart && {
      ...coldStart,
      goal: { maxDifferenceMs: GOALS.maxColdStartMs, met: coldStart.differenceMs.median <= GOALS.maxColdStartMs },
    },
    runtime,
    monitor,
    hosts,
    nova,
    novaSnapshot: novaSnapshot && {
      ...novaSnapshot,
      goal: { maxRatio: GOALS.maxNovaSnapshotRatio, met: novaSnapshot.ratio.median <= GOALS.maxNovaSnapshotRatio },
    },
    datastore,
    exec,
    disk,
  };
}

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

/** The report as tables: the process costs (one row per measured kind, then their goals), then monitoring. */
export function formatReport(report: BenchReport): string {
  const parts: string[] = [];
  if (report.deploy || report.coldStart) parts.push(formatProcessCosts(report));
  if (report.ovsDeploy) parts.push(formatOvsDeploy(report.ovsDeploy));
  if (report.burst) parts.push(formatBurst(report.burst));
  if (report.runtime) parts.push(formatRuntime(report.runtime));
  if (report.monitor) parts.push(formatMonitor(report.monitor));
  if (report.hosts) parts.push(formatHosts(report.hosts));
  if (report.nova) parts.push(formatNova(report.nova));
  if (report.novaSnapshot) parts.push(formatNovaSnapshot(report.novaSnapshot));
  if (report.datastore) parts.push(formatDatastore(report.datastore));
  if (report.exec) parts.push(formatExec(report.exec));
  if (report.disk) parts.push(formatDisk(report.disk));
  return parts.join('\n\n');
}

function formatOvsDeploy(ovs: NonNullable<BenchReport['ovsDeploy']>): string {
  const row = (name: string, s: Summary) => [name, String(s.n), ...[s.median, s.mean, s.min, s.max].map((x) => x.toFixed(1))];
  return [
    ...table([
      ['one NIC on Open vSwitch', 'n', 'median ms', 'mean ms', 'min ms', 'max ms'],
      row('deploy executable', ovs.summary.deploy),
      ...(ovs.summary.agent ? [row('through the action agent', ovs.summary.agent)] : []),
      row('raw baseline', ovs.summary.baseline),
    ]),
    '',
    ...deployRatioLines(ovs),
  ].join('\n');
}

/** The ratio lines of a deploy part: node per action, and through the agent (the goal's) when the run had one. */
function deployRatioLines(deploy: DeployResult & { goal: { maxRatio: number; met: boolean } }): string[] {
  const line = (what: string, ratio: { median: number; mean: number }, goal: string) =>
    `${what} / baseline (medians): ${ratio.median.toFixed(2)}  (means: ${ratio.mean.toFixed(2)})  ${goal}`;
  const goal = `goal <= ${deploy.goal.maxRatio}: ${verdict(deploy.goal.met)}`;
  if (!deploy.agentRatio) return [line('deploy', deploy.ratio, goal)];
  return [line('deploy, node per action', deploy.ratio, '(without the agent)'), line('deploy through the agent', deploy.agentRatio, goal)];
}

function formatProcessCosts({ deploy, coldStart }: BenchReport): string {
  const header = ['', 'n', 'median ms', 'mean ms', 'min ms', 'max ms', 'stdev ms'];
  const row = (name: string, s: Summary) => [name, String(s.n), ...[s.median, s.mean, s.min, s.max, s.stdev].map((x) => x.toFixed(1))];
  const rows = [
    header,
    ...(deploy
      ? [
          row('deploy executable', deploy.summary.deploy),
          ...(deploy.summary.agent ? [row('through the action agent', deploy.summary.agent)] : []),
          row('raw baseline', deploy.summary.baseline),
        ]
      : []),
    ...(coldStart ? [row('vmm.mjs cold start', coldStart.summary.driver), row('node -e 0', coldStart.summary.node)] : []),
  ];
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
  const counts = [
    ...(deploy ? [`deploy: ${deploy.rounds} rounds after ${deploy.warmup} warm-up, interleaved`] : []),
    ...(coldStart ? [`cold start: ${coldStart.runs} pairs after ${coldStart.warmup} warm-up`] : []),
  ];
  return [
    ...table(rows),
    '',
    ...(deploy ? deployRatioLines(deploy) : []),
    ...(coldStart
      ? [
          `cold start - node -e 0 (medians): ${signed(coldStart.differenceMs.median)} ms  (means: ${coldStart.differenceMs.mean.toFixed(1)} ms)  goal <= +${coldStart.goal.maxDifferenceMs} ms: ${verdict(coldStart.goal.met)}`,
        ]
      : []),
    counts.join('; '),
    ...(deploy?.phases ? ['', ...formatPhases(deploy.phases, deploy.summary.baseline.median, deploy.baselineStepsMs)] : []),
  ].join('\n');
}

/** Left-aligned first column, the others right-aligned, under a rule. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)];
}

/** Per fleet size and probe kind: wall time, peak RSS, the in-process part, the stats endpoint and the ratio; then growth and goals. */
function formatMonitor(monitor: MonitorResult): string {
  const kinds = PROBE_KINDS.map((kind) => kind.name);
  const header = ['VMs', 'probe', 'median ms', 'min ms', 'max ms', 'ms/VM', 'peak RSS MB', 'complete', 'engine+code ms', 'stats endpoint s', 'stats/probe'];
  const rows = [header];
  for (const size of monitor.sizes) {
    const stats = size.statsEndpoint;
    for (const [i, kind] of kinds.entries()) {
      const runs = size.probes[kind]!;
      rows.push([
        i === 0 ? String(size.vms) : '',
        kind,
        runs.summary.median.toFixed(0),
        runs.summary.min.toFixed(0),
        runs.summary.max.toFixed(0),
        size.vms ? (runs.summary.median / size.vms).toFixed(2) : '-',
        (runs.rss.median / 1024).toFixed(1),
        `${runs.samplesMs.length - runs.incomplete}/${runs.samplesMs.length}`,
        runs.vmWorkMs === undefined ? '-' : runs.vmWorkMs.toFixed(0),
        stats && i === 0 ? `${(stats.ms / 1000).toFixed(1)}${stats.extrapolated ? '*' : ''}` : stats ? '' : '-',
        size.ratio ? `${size.ratio[kind]!.toFixed(0)}x` : '-',
      ]);
    }
  }
  const largest = monitor.sizes[monitor.sizes.length - 1];
  const goals = monitor.goals;
  const lowestRatio = Math.min(...monitor.sizes.flatMap((s) => (s.ratio ? Object.values(s.ratio) : [])));
  const others = Math.max(0, ...monitor.sizes.map((s) => s.otherVms));
  const reruns = monitor.sizes.reduce((sum, s) => sum + Object.values(s.probes).reduce((n, p) => n + p.rerun, 0), 0);
  const perVm = (values: Record<string, number>, unit: string, digits: number) =>
    Object.entries(values)
      .map(([kind, value]) => `${kind} ${signedFixed(value, digits)} ${unit}`)
      .join('; ');
  const statsPerVm = monitor.sizes
    .filter((s) => s.statsEndpoint)
    .map((s) => `${s.vms} VMs ${(s.statsEndpoint!.ms / s.statsEndpoint!.containers).toFixed(0)} ms/VM`);
  const first = monitor.sizes[0];
  const second = monitor.sizes[1];
  return [
    `monitoring: VM probes as monitord runs them (medians of ${monitor.runs} runs after ${monitor.warmup} warm-up, peak RSS medians` +
      (monitor.phaseRuns
        ? `;\nengine+code: the engine calls and the probe's code after them, inside the process, medians of ${monitor.phaseRuns} instrumented runs),`
        : '),'),
    `against the engine's stats endpoint for every running VM, ${monitor.statsConcurrency} calls in flight, one pass`,
    ...table(rows),
    ...monitor.sizes
      .filter((s) => s.statsEndpoint?.extrapolated)
      .map(
        (s) =>
          `* ${s.vms} VMs: stats endpoint timed on a random sample of ${s.statsEndpoint!.sample.calls} VMs (${(s.statsEndpoint!.sample.ms / 1000).toFixed(1)} s, ` +
          `${s.statsEndpoint!.sample.meanCallMs.toFixed(0)} ms a call) and extrapolated linearly to ${s.statsEndpoint!.containers} (mean call time × VMs / calls in flight)`,
      ),
    ...monitor.sizes.flatMap((s) =>
      kinds
        .filter((k) => s.probes[k]!.incomplete > 0)
        .map(
          (k) =>
            `! ${k} at ${s.vms} VMs: ${s.probes[k]!.incomplete} of ${s.probes[k]!.samplesMs.length} runs' output lacked VMs (fewest ${s.probes[k]!.fewestVms} of ${s.vms}; ` +
            `up to ${s.probes[k]!.maxOutputBytes} bytes came through the 64 KB pipe monitord's client reads)`,
        ),
    ),
    ...(others
      ? [`the probes also reported up to ${others} VM(s) of OpenNebula on this host that are not the bench's (the stats endpoint read them too)`]
      : []),
    ...(reruns ? [`${reruns} run(s) found more to do than their kind (a VM seen for the first time, disk sizes due) and were run again, not counted`] : []),
    ...(monitor.steps.length ? ['', 'growth per added VM (medians):'] : []),
    ...monitor.steps.flatMap((step) => [
      `  ${step.from} -> ${step.to} wall: ${perVm(step.msPerVm, 'ms/VM', 3)}`,
      ...(Object.keys(step.vmWorkMsPerVm).length ? [`  ${step.from} -> ${step.to} engine+code: ${perVm(step.vmWorkMsPerVm, 'ms/VM', 3)}`] : []),
      `  ${step.from} -> ${step.to} peak RSS: ${perVm(step.rssKbPerVm, 'KB/VM', 1)}`,
    ]),
    ...(statsPerVm.length ? ['', `stats endpoint per VM: ${statsPerVm.join(', ')}`] : []),
    '',
    largest
      ? `each probe < ${goals.maxProbeMs} ms at ${largest.vms} VMs: ${verdict(goals.fast)} (${kinds.map((k) => `${k} ${largest.probes[k]!.summary.median.toFixed(0)} ms`).join(', ')})`
      : '',
    `every run reports every VM (output read through a pipe, as monitord's client reads it): ${verdict(goals.complete)}`,
    goals.ratio === undefined
      ? 'stats endpoint / probe: not assessed (no size with VMs)'
      : `stats endpoint / probe >= ${goals.minStatsRatio} at every size with VMs: ${verdict(goals.ratio)} (lowest ${lowestRatio.toFixed(0)}x)`,
    goals.linearity && largest && first && second
      ? `linear in VMs: at ${largest.vms} VMs, engine+code within +${(goals.maxLinearDeviation * 100).toFixed(0)}% of the line through ${first.vms} and ${second.vms} VMs: ${verdict(goals.linear!)} (` +
        kinds.map((k) => `${k} ${goals.linearity![k]!.toFixed(2)}`).join(', ') +
        ' of the line; wall time: ' +
        kinds.map((k) => `${goals.wallLinearity![k]!.toFixed(2)}`).join(', ') +
        ')'
      : 'linear in VMs: not assessed (needs three sizes and instrumented runs)',
    ...(largest && (!goals.fast || !goals.complete || goals.ratio === false || goals.linear === false)
      ? kinds.flatMap((k) => (largest.probes[k]!.phases ? ['', ...formatProbePhases(`${k} at ${largest.vms} VMs`, largest.probes[k]!.phases!)] : []))
      : []),
  ].join('\n');
}

const signedFixed = (value: number, digits: number) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

function formatProbePhases(what: string, breakdown: PhaseBreakdown): string[] {
  const phases = [...breakdown.phases].sort((a, b) => b.medianMs - a.medianMs);
  const label = (p: { name: string; count: number }) => (p.count > 1 ? `${p.name} (x${p.count})` : p.name);
  const width = Math.max(...phases.map((p) => label(p).length));
  return [
    `where the time goes, ${what} (medians of ${breakdown.runs} instrumented runs of ${breakdown.totalMedianMs.toFixed(1)} ms):`,
    ...phases.map(
      (p) => `  ${label(p).padEnd(width)}  ${p.medianMs.toFixed(1).padStart(7)} ms  ${((100 * p.medianMs) / breakdown.totalMedianMs).toFixed(0).padStart(3)}%`,
    ),
  ];
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
