import { performance } from 'node:perf_hooks';
import { agentDeployKind, deployExecutableKind, rawBaselineKind, type DeployKind, type Deployed, type KindContext } from './deploy-kinds.ts';
import { round } from './stats.ts';

/**
 * Many VMs brought up at once: `count` deploy executables started together against `count` raw baselines
 * (engine create + start + plumb from this process, over its pool of engine connections) at once. The figure
 * is throughput: raw wall time / dockvisor's wall time (1 = as fast as the engine lets a burst go).
 */
export interface BurstResult {
  count: number;
  /** Wall times of each pass (ms), in the order run: raw, deploy, agent, agent, deploy, raw (agent: the launchers hand the actions to the action agent). */
  passes: { kind: string; wallMs: number; failures: number }[];
  /** Median deploys per second of each kind, and their ratios (deploy / raw, agent / raw). */
  deployPerSecond: number;
  rawPerSecond: number;
  ratio: number;
  agentPerSecond?: number;
  agentRatio?: number;
}

export async function runDeployBurst(
  ctx: KindContext,
  count: number,
  firstN: number,
  addressOf: (n: number) => string,
  log: (line: string) => void,
): Promise<BurstResult> {
  const passes: BurstResult['passes'] = [];
  const withAgent = ctx.agentSocket ? [agentDeployKind, agentDeployKind] : [];
  for (const kind of [rawBaselineKind, deployExecutableKind, ...withAgent, deployExecutableKind, rawBaselineKind]) {
    ctx.abort.throwIfAborted();
    const pass = await burst(ctx, kind, count, firstN, addressOf);
    passes.push(pass);
    log(`burst of ${count}: ${pass.kind} ${Math.round(pass.wallMs)} ms${pass.failures ? `, ${pass.failures} failed` : ''}`);
  }
  const perSecond = (kind: string) => {
    const walls = passes.filter((p) => p.kind === kind).map((p) => p.wallMs);
    return count / (walls.reduce((a, b) => a + b, 0) / walls.length / 1000);
  };
  const deployPerSecond = perSecond(deployExecutableKind.name);
  const rawPerSecond = perSecond(rawBaselineKind.name);
  const agentPerSecond = ctx.agentSocket ? perSecond(agentDeployKind.name) : undefined;
  return {
    count,
    passes,
    deployPerSecond: round(deployPerSecond),
    rawPerSecond: round(rawPerSecond),
    ratio: round(deployPerSecond / rawPerSecond),
    ...(agentPerSecond ? { agentPerSecond: round(agentPerSecond), agentRatio: round(agentPerSecond / rawPerSecond) } : {}),
  };
}

async function burst(ctx: KindContext, kind: DeployKind, count: number, firstN: number, addressOf: (n: number) => string) {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => kind.deploy(ctx, firstN + i, addressOf(firstN + i))));
  const wallMs = performance.now() - started;
  const deployed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  await teardownAll(deployed);
  const failures = results.filter((r) => r.status === 'rejected');
  if (failures.length === count) throw (failures[0] as PromiseRejectedResult).reason;
  return { kind: kind.name, wallMs, failures: failures.length };
}

/** Teardowns 8 at a time, not timed. */
async function teardownAll(deployed: Deployed[]): Promise<void> {
  const queue = [...deployed];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await next.teardown().catch(() => undefined);
    }),
  );
}

export function formatBurst(result: BurstResult): string {
  return [
    `${result.count} deploys at once (passes: ${result.passes.map((p) => `${p.kind} ${Math.round(p.wallMs)} ms${p.failures ? ` (${p.failures} failed)` : ''}`).join(', ')})`,
    `  deploy executable: ${result.deployPerSecond} VMs/s; raw create + start + plumb: ${result.rawPerSecond} VMs/s`,
    ...(result.agentPerSecond ? [`  deploy executable through the action agent: ${result.agentPerSecond} VMs/s`] : []),
    `  throughput deploy / raw: ${result.ratio} (goal >= 0.8: ${result.ratio >= 0.8 ? 'met' : 'NOT met'}${result.agentRatio ? '; without the agent' : ''})`,
    ...(result.agentRatio !== undefined
      ? [`  throughput through the agent / raw: ${result.agentRatio} (goal >= 0.8: ${result.agentRatio >= 0.8 ? 'met' : 'NOT met'})`]
      : []),
  ].join('\n');
}
