import { childEnv, describeFailure, runTimed, type TimedRun } from './child-process.ts';
import type { BenchPlan } from './settings.ts';
import { vmmBundle } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface ColdStartResult {
  warmup: number;
  runs: number;
  driverCommand: string;
  nodeCommand: string;
  samplesMs: { driver: number[]; node: number[] };
  summary: { driver: Summary; node: Summary };
  /** driver - node, of the medians and of the means. */
  differenceMs: { median: number; mean: number };
}

export interface ColdStartContext {
  configPath: string;
  /** The node both sides run on; the bench's own (dockvisor's runtime) unless said. */
  nodePath?: string;
  timeoutMs: number;
  abort: AbortSignal;
}

/**
 * The price of loading the driver in a fresh process, as oned pays it for every action:
 * `vmm.mjs deploy` with an empty stdin loads the whole bundle (everything an action on the local
 * engine imports), reads stdin and the host config, and fails at the XML check before any engine
 * call. Against `node -e 0`, in alternation.
 */
export async function runColdStartBench(ctx: ColdStartContext, plan: BenchPlan, progress: (line: string) => void): Promise<ColdStartResult> {
  const env = childEnv({ DOCKVISOR_CONFIG: ctx.configPath });
  const options = { stdin: '', env, timeoutMs: ctx.timeoutMs, abort: ctx.abort };
  const driverArgs = [vmmBundle, 'deploy'];
  const nodeArgs = ['-e', '0'];
  const node = ctx.nodePath ?? process.execPath;

  const driver = async (): Promise<number> => {
    const run = await runTimed(node, driverArgs, options);
    // The failure it must end in: exit 1 with the driver's one line about the empty document.
    if (run.code !== 1 || !run.stderr.startsWith('dockvisor deploy: ')) throw unexpected('vmm.mjs deploy with an empty stdin', run);
    return run.ms;
  };
  const bare = async (): Promise<number> => {
    const run = await runTimed(node, nodeArgs, options);
    if (run.code !== 0) throw new Error(describeFailure('node -e 0', run));
    return run.ms;
  };

  const samples = { driver: [] as number[], node: [] as number[] };
  const total = plan.coldWarmup + plan.coldRuns;
  for (let i = 0; i < total; i++) {
    const d = await driver();
    const n = await bare();
    if (i < plan.coldWarmup) continue;
    samples.driver.push(d);
    samples.node.push(n);
    const done = i - plan.coldWarmup + 1;
    if (done % 10 === 0 || done === plan.coldRuns) progress(`cold start: ${done}/${plan.coldRuns} pairs`);
  }
  const summary = { driver: summarize(samples.driver), node: summarize(samples.node) };
  return {
    warmup: plan.coldWarmup,
    runs: plan.coldRuns,
    driverCommand: 'node remotes/lib/dockvisor/vmm.mjs deploy, empty stdin (fails at the XML check, exit 1)',
    nodeCommand: 'node -e 0',
    samplesMs: samples,
    summary,
    differenceMs: { median: summary.driver.median - summary.node.median, mean: summary.driver.mean - summary.node.mean },
  };
}

function unexpected(what: string, run: TimedRun): Error {
  return new Error(`${what} did not fail the way it should (exit 1, "dockvisor deploy: ..."): ${describeFailure('it', run)}`);
}
