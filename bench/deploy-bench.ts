import { setTimeout as sleep } from 'node:timers/promises';
import { deployExecutableKind, rawBaselineKind, type DeployKind, type KindContext } from './deploy-kinds.ts';
import type { BenchPlan } from './settings.ts';
import { vmAddress } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface DeployResult {
  warmup: number;
  rounds: number;
  samplesMs: { deploy: number[]; baseline: number[]; agent?: number[] };
  summary: { deploy: Summary; baseline: Summary; agent?: Summary };
  /** deploy / baseline, of the medians and of the means. */
  ratio: { median: number; mean: number };
  /** The deploy executable handed to the action agent / baseline, when the run had an agent. */
  agentRatio?: { median: number; mean: number };
  /** Median of each of the raw baseline's steps over the counted rounds. */
  baselineStepsMs: Record<string, number>;
}

/**
 * Rounds of (deploy executable, [the same through the action agent,] raw baseline), in that order, so drift of the
 * machine hits all; the first `deployWarmup` rounds are not counted. Each VM is torn down, untimed, before the next step.
 */
export async function runDeployBench(
  ctx: KindContext,
  plan: BenchPlan,
  progress: (line: string) => void,
  kinds: readonly DeployKind[] = [deployExecutableKind, rawBaselineKind],
): Promise<DeployResult> {
  const samples: Record<string, number[]> = Object.fromEntries(kinds.map((kind) => [kind.name, []]));
  const steps = new Map<string, number[]>();
  const total = plan.deployWarmup + plan.deployRounds;
  for (let round = 0; round < total; round++) {
    const counted = round >= plan.deployWarmup;
    const times: string[] = [];
    for (const [k, kind] of kinds.entries()) {
      ctx.abort.throwIfAborted();
      const deployed = await kind.deploy(ctx, round, vmAddress(kinds.length * round + k));
      await deployed.teardown();
      if (counted) samples[kind.name]!.push(deployed.ms);
      for (const [name, ms] of Object.entries(counted ? (deployed.steps ?? {}) : {})) steps.set(name, [...(steps.get(name) ?? []), ms]);
      times.push(`${kind.name} ${deployed.ms.toFixed(1)} ms`);
      await sleep(plan.settleMs, undefined, { signal: ctx.abort });
    }
    progress(
      `deploy ${counted ? `round ${round - plan.deployWarmup + 1}/${plan.deployRounds}` : `warm-up ${round + 1}/${plan.deployWarmup}`}: ${times.join(', ')}`,
    );
  }
  const deploy = summarize(samples.deploy!);
  const baseline = summarize(samples.baseline!);
  const agent = samples.agent && summarize(samples.agent);
  return {
    warmup: plan.deployWarmup,
    rounds: plan.deployRounds,
    samplesMs: { deploy: samples.deploy!, baseline: samples.baseline!, ...(samples.agent ? { agent: samples.agent } : {}) },
    summary: { deploy, baseline, ...(agent ? { agent } : {}) },
    ratio: { median: deploy.median / baseline.median, mean: deploy.mean / baseline.mean },
    ...(agent ? { agentRatio: { median: agent.median / baseline.median, mean: agent.mean / baseline.mean } } : {}),
    baselineStepsMs: Object.fromEntries([...steps].map(([name, values]) => [name, summarize(values).median])),
  };
}
