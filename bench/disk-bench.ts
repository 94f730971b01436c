import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from '../test/helpers/vm-xml.ts';
import { childEnv, describeFailure, runTimed } from './child-process.ts';
import { COMMAND, IMAGE, LAST_VM_ID, repoRoot } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface DiskResult {
  warmup: number;
  rounds: number;
  samplesMs: { attach: number[]; detach: number[]; dockerRun: number[] };
  summary: { attach: Summary; detach: Summary; dockerRun: Summary };
  /** attach_disk / `docker run -v`, of the medians. */
  ratio: number;
}

interface DiskContext {
  configPath: string;
  timeoutMs: number;
  abort: AbortSignal;
}

const VM_ID = LAST_VM_ID;
const VOLUME = `one-${VM_ID}-disk-2`;
const BASELINE = 'dvb-disk-run';
const vmmAction = (action: string) => join(repoRoot, 'remotes/vmm/dockvisor', action);
const docker = (...args: string[]) => execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/**
 * A disk hot-plugged into a running VM: the attach_disk executable as oned runs it (a volatile disk's volume
 * already made, as the transfer's mkimage leaves it) and its detach_disk, against `docker run -d -v` of a
 * fresh container with the same volume, the only way the engine itself gives a container a volume: for scale.
 */
export async function runDiskBench(ctx: DiskContext, warmup: number, rounds: number, progress: (line: string) => void): Promise<DiskResult> {
  const draft: VmDraft = { id: VM_ID, name: 'bench-disk', systemTm: 'dockvisor', dockvisor: { IMAGE, CMD: COMMAND.join(' ') } };
  const disk = { diskId: 2, type: 'fs', target: 'sdc' };
  const hotplug = actionXml({ ...draft, lcmState: 17, disks: [{ ...disk, attach: true }] });
  const argv = [`one-${VM_ID}`, `/var/lib/one//datastores/100/${VM_ID}/disk.2`, 'sdc', '2', String(VM_ID), 'localhost'];
  const options = { env: childEnv({ DOCKVISOR_CONFIG: ctx.configPath }), timeoutMs: ctx.timeoutMs, abort: ctx.abort };
  const run = async (action: string, args: string[], stdin: string): Promise<number> => {
    const result = await runTimed(vmmAction(action), args, { ...options, stdin });
    if (result.code !== 0) throw new Error(describeFailure(action, result));
    return result.ms;
  };

  docker('volume', 'create', VOLUME);
  try {
    await run('deploy', deployArgv(VM_ID), vmXml(draft));
    const samples = { attach: [] as number[], detach: [] as number[], dockerRun: [] as number[] };
    for (let i = 0; i < warmup + rounds; i++) {
      const attach = await run('attach_disk', argv, hotplug);
      const detach = await run('detach_disk', argv, hotplug);
      const started = await runTimed('docker', ['run', '-d', '--name', BASELINE, '-v', `${VOLUME}:/media/sdc`, IMAGE, ...COMMAND], options);
      if (started.code !== 0) throw new Error(describeFailure('docker run -v', started));
      docker('rm', '-f', BASELINE);
      if (i < warmup) continue;
      samples.attach.push(attach);
      samples.detach.push(detach);
      samples.dockerRun.push(started.ms);
      progress(`disk attach: ${i - warmup + 1}/${rounds} rounds`);
    }
    const summary = { attach: summarize(samples.attach), detach: summarize(samples.detach), dockerRun: summarize(samples.dockerRun) };
    return { warmup, rounds, samplesMs: samples, summary, ratio: summary.attach.median / summary.dockerRun.median };
  } finally {
    await run('cancel', idArgv(VM_ID), actionXml({ ...draft, lcmState: 12 })).catch(() => undefined);
    try {
      docker('rm', '-f', BASELINE);
    } catch {
      // not there: the round it belongs to never started it
    }
    docker('volume', 'rm', '-f', VOLUME);
  }
}

export function formatDisk(disk: DiskResult): string {
  const row = (name: string, s: Summary) => [name, String(s.n), s.median.toFixed(1), s.min.toFixed(1), s.max.toFixed(1)].join('  ');
  return [
    'disk hot-plug                          n  median ms  min ms  max ms',
    row('attach_disk executable (running VM)  ', disk.summary.attach),
    row('detach_disk executable               ', disk.summary.detach),
    row('docker run -d -v (fresh container)   ', disk.summary.dockerRun),
    `attach_disk / docker run -v (medians): ${disk.ratio.toFixed(2)}; ${disk.rounds} rounds after ${disk.warmup} warm-up`,
  ].join('\n');
}
