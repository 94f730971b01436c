import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { runColdStartBench, type ColdStartResult } from './cold-start-bench.ts';
import { runDeployBench, type DeployResult } from './deploy-bench.ts';
import type { KindContext } from './deploy-kinds.ts';
import type { BenchPlan } from './settings.ts';

export interface RuntimeSide {
  node: string;
  version: string;
  coldStart: ColdStartResult;
  deploy: DeployResult;
}

export interface RuntimeResult {
  shipped: RuntimeSide;
  /** The machine's own node, when it has one other than dockvisor's runtime. */
  machine?: RuntimeSide;
}

/** The distribution's node, as a host without dockvisor's runtime would run the driver on it. */
export function machineNode(): string | undefined {
  return ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path) && realpathSync(path) !== realpathSync(process.execPath));
}

/**
 * Cold start and the deploy executable on dockvisor's runtime and on the machine's own node (the
 * launchers' DOCKVISOR_NODE), one side after the other, each against its own baseline of the same run.
 */
export async function runRuntimeBench(ctx: KindContext, plan: BenchPlan, progress: (line: string) => void): Promise<RuntimeResult> {
  const side = async (node: string): Promise<RuntimeSide> => {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    progress(`runtime: ${node} (${version})`);
    const coldStart = await runColdStartBench({ configPath: ctx.configPath, timeoutMs: ctx.timeoutMs, abort: ctx.abort, nodePath: node }, plan, progress);
    const deploy = await runDeployBench({ ...ctx, extraEnv: { DOCKVISOR_NODE: node } }, plan, progress);
    return { node, version, coldStart, deploy };
  };
  const shipped = await side(process.execPath);
  const other = machineNode();
  return { shipped, machine: other ? await side(other) : undefined };
}

export function formatRuntime(result: RuntimeResult): string {
  const line = (s: RuntimeSide) =>
    `| ${s.version} (${s.node}) | ${s.coldStart.summary.driver.median.toFixed(0)} ms | ${s.coldStart.summary.node.median.toFixed(0)} ms | ` +
    `${s.deploy.summary.deploy.median.toFixed(0)} ms | ${s.deploy.summary.baseline.median.toFixed(0)} ms | ${s.deploy.ratio.median.toFixed(2)} |`;
  return [
    "Runtime: the driver on dockvisor's runtime and on the machine's own node (medians)",
    '| node | vmm.mjs cold start | node -e 0 | deploy executable | raw baseline | deploy ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    line(result.shipped),
    ...(result.machine ? [line(result.machine)] : ['(this machine has no other node)']),
  ].join('\n');
}
