import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { actionXml, deployArgv, vmXml } from '../test/helpers/vm-xml.ts';
import { childEnv, describeFailure, runTimed } from './child-process.ts';
import type { RawEngine } from './raw-engine.ts';
import { deployExecutable, LAST_VM_ID, probeStdin, PROBE_ARGV, repoRoot } from './settings.ts';
import { round, summarize, type Summary } from './stats.ts';
import { readFileSync } from 'node:fs';

export interface ExecResult {
  rounds: number;
  command: string;
  samplesMs: { exec: number[]; docker: number[] };
  summary: { exec: Summary; docker: Summary };
  /** exec round trip / docker exec, of the medians. */
  ratio: number;
}

export interface ExecContext {
  engine: RawEngine;
  configPath: string;
  timeoutMs: number;
  abort: AbortSignal;
}

const VM_ID = LAST_VM_ID;
const COMMAND = 'cat /etc/hostname';
const execExecutable = join(repoRoot, 'remotes/vmm/dockvisor/exec');
const executionProbe = join(repoRoot, 'remotes/im/dockvisor-probes.d/vm/execution/dockvisor_execution.sh');

/**
 * `onevm exec` as an operator waits for it: the exec action, then the vm/execution probe run until it reports the
 * command (as monitord runs it every EXEC_VM seconds; here back to back), against `docker exec` of the same command
 * in the same container, which answers at once. In alternation, one VM deployed for the whole run.
 */
export async function runExecBench(ctx: ExecContext, rounds: number, progress: (line: string) => void): Promise<ExecResult> {
  const env = childEnv({ DOCKVISOR_CONFIG: ctx.configPath });
  const options = { env, timeoutMs: ctx.timeoutMs, abort: ctx.abort };
  const container = `one-${VM_ID}`;
  const deployed = await runTimed(deployExecutable, deployArgv(VM_ID), { ...options, stdin: vmXml({ id: VM_ID, name: 'bench-exec' }) });
  if (deployed.code !== 0) throw new Error(describeFailure(`deploy of VM ${VM_ID}`, deployed));
  const probeConfig = readFileSync(probeStdin, 'utf8');
  const document = actionXml({
    id: VM_ID,
    lcmState: 3,
    extraTemplate: `<QEMU_GA_EXEC><COMMAND><![CDATA[${COMMAND}]]></COMMAND><STDIN><![CDATA[]]></STDIN></QEMU_GA_EXEC>`,
  });
  const viaExec = async (): Promise<number> => {
    const started = performance.now();
    const run = await runTimed(execExecutable, [String(VM_ID), 'localhost', COMMAND], { ...options, stdin: document });
    if (run.code !== 0) throw new Error(describeFailure('exec', run));
    for (;;) {
      const report = await runTimed(executionProbe, PROBE_ARGV, { ...options, stdin: probeConfig });
      if (report.code !== 0) throw new Error(describeFailure('vm/execution', report));
      if (report.stdout.includes(`ID="${VM_ID}"`)) return performance.now() - started;
      if (performance.now() - started > ctx.timeoutMs) throw new Error('vm/execution never reported the command');
    }
  };
  const viaDocker = async (): Promise<number> => {
    const run = await runTimed('docker', ['exec', container, ...COMMAND.split(' ')], options);
    if (run.code !== 0) throw new Error(describeFailure('docker exec', run));
    return run.ms;
  };
  try {
    await viaExec();
    await viaDocker();
    const samples = { exec: [] as number[], docker: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      samples.exec.push(await viaExec());
      samples.docker.push(await viaDocker());
      if ((i + 1) % 5 === 0 || i + 1 === rounds) progress(`exec: ${i + 1}/${rounds} rounds`);
    }
    const summary = { exec: summarize(samples.exec), docker: summarize(samples.docker) };
    return { rounds, command: COMMAND, samplesMs: samples, summary, ratio: round(summary.exec.median / summary.docker.median) };
  } finally {
    await ctx.engine.removeContainer(container);
  }
}

export function formatExec(result: ExecResult): string {
  const { exec, docker } = result.summary;
  return [
    `onevm exec round trip (exec action + vm/execution probe until it reports), "${result.command}", ${result.rounds} rounds`,
    `  dockvisor  median ${round(exec.median)} ms  (min ${round(exec.min)}, max ${round(exec.max)})`,
    `  docker exec median ${round(docker.median)} ms  (min ${round(docker.min)}, max ${round(docker.max)})`,
    `  ratio ${result.ratio}`,
  ].join('\n');
}
