import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningService } from './nova-service.ts';
import type { RawEngine } from './raw-engine.ts';
import { BENCH_LABEL, BENCH_LABEL_VALUE, COMMAND, IMAGE, NOVA_UUID_PREFIX, RAW_CONTAINER_PREFIX, repoRoot, type NovaPlan } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface NovaResizeResult {
  warmup: number;
  rounds: number;
  /** migrate_disk_and_power_off + finish_migration through the shim (the instance RUNNING with the new flavor). */
  service: Summary;
  /** confirm_migration, apart: the source container removed. */
  confirm: Summary;
  /** stop (no grace) + commit + create with the new limits + start, on the engine, of the same kind of container. */
  raw: Summary;
  ratio: { median: number; mean: number };
}

interface Context {
  engine: RawEngine;
  service: RunningService;
  abort: AbortSignal;
}

/** The issue's goal: a resize through the shim at most 1.5 times the same work by hand (median). */
export const NOVA_RESIZE_MAX_RATIO = 1.5;
/** Where the baseline's commits go: removed at the end of the part, and by the bench's cleanup after an interrupted run. */
export const RAW_RESIZE_REPOSITORY = 'dvb-raw-resize';
const FLAVORS = [
  { CpuPeriod: 100_000, CpuQuota: 100_000, Memory: 64 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024 },
  { CpuPeriod: 100_000, CpuQuota: 200_000, Memory: 128 * 1024 * 1024, MemorySwap: 128 * 1024 * 1024 },
];

/**
 * Resize on one host through the Nova shim (python3-nova loading the installed driver, as nova-compute does) against
 * the same by hand on the engine: alternating rounds, each resizing one instance (or container) to the other of two
 * flavors. Nothing goes through a registry on either side. Everything is removed at the end.
 */
export async function runNovaResizeBench(ctx: Context, plan: NovaPlan, settleMs: number, progress: (line: string) => void): Promise<NovaResizeResult> {
  const installed = mkdtempSync(join(tmpdir(), 'dvb-nova-shim-'));
  const install = spawnSync('bash', [join(repoRoot, 'packaging/nova/install.sh'), '--target', installed], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`packaging/nova/install.sh failed (python3-nova is needed: scripts/setup.sh): ${install.stderr.trim()}`);
  const uuid = benchUuid();
  const shim = new ShimProcess(installed, ctx.service, uuid);
  const raw: string[] = [];
  const samples = { service: [] as number[], confirm: [] as number[], raw: [] as number[] };
  try {
    await shim.call('spawn');
    raw.push(`${RAW_CONTAINER_PREFIX}resize-0`);
    await ctx.engine.expect('POST', `/containers/create?name=${raw[0]}`, [201], rawBody(IMAGE, 0));
    await ctx.engine.expect('POST', `/containers/${raw[0]}/start`, [204]);
    for (let round = 0; round < plan.warmup + plan.rounds; round++) {
      ctx.abort.throwIfAborted();
      const counted = round >= plan.warmup;
      const seen = (await shim.call('resize')) as { resize_ms: number; confirm_ms: number };
      await sleep(settleMs, undefined, { signal: ctx.abort });
      const next = `${RAW_CONTAINER_PREFIX}resize-${round + 1}`;
      const rawMs = await rawResize(ctx.engine, raw[round]!, next, round + 1);
      raw.push(next);
      await ctx.engine.removeContainer(raw[round]!);
      await sleep(settleMs, undefined, { signal: ctx.abort });
      if (counted) {
        samples.service.push(seen.resize_ms);
        samples.confirm.push(seen.confirm_ms);
        samples.raw.push(rawMs);
      }
      progress(
        `nova resize ${counted ? `round ${round - plan.warmup + 1}/${plan.rounds}` : `warm-up ${round + 1}/${plan.warmup}`}: shim ${seen.resize_ms.toFixed(1)} ms (+ confirm ${seen.confirm_ms.toFixed(1)} ms), raw ${rawMs.toFixed(1)} ms`,
      );
    }
  } finally {
    await shim.call('destroy').catch(() => undefined);
    await shim.close();
    rmSync(installed, { recursive: true, force: true });
    for (const name of raw) await ctx.engine.removeContainer(name).catch(() => undefined);
    for (let i = 1; i <= raw.length; i++) await ctx.engine.expect('DELETE', `/images/${RAW_RESIZE_REPOSITORY}:${i}`, [200, 404, 409]).catch(() => undefined);
  }
  const service = summarize(samples.service);
  const rawSummary = summarize(samples.raw);
  return {
    warmup: plan.warmup,
    rounds: plan.rounds,
    service,
    confirm: summarize(samples.confirm),
    raw: rawSummary,
    ratio: { median: service.median / rawSummary.median, mean: service.mean / rawSummary.mean },
  };
}

/** Stop without grace, commit, create from the commit with the other flavor's limits, start: milliseconds. */
async function rawResize(engine: RawEngine, from: string, to: string, round: number): Promise<number> {
  const started = performance.now();
  await engine.expect('POST', `/containers/${from}/stop?t=0`, [204, 304]);
  await engine.expect('POST', `/commit?container=${from}&repo=${RAW_RESIZE_REPOSITORY}&tag=${round}`, [201]);
  await engine.expect('POST', `/containers/create?name=${to}`, [201], rawBody(`${RAW_RESIZE_REPOSITORY}:${round}`, round % 2));
  await engine.expect('POST', `/containers/${to}/start`, [204]);
  return performance.now() - started;
}

function rawBody(image: string, flavor: number) {
  return { Image: image, Cmd: COMMAND, Labels: { [BENCH_LABEL]: BENCH_LABEL_VALUE }, HostConfig: { NetworkMode: 'none', ...FLAVORS[flavor] } };
}

function benchUuid(): string {
  const hex = randomBytes(12).toString('hex');
  return `${NOVA_UUID_PREFIX}${hex.slice(0, 4)}-4${hex.slice(4, 7)}-8${hex.slice(7, 10)}-${hex.slice(10, 22)}`;
}

/** bench/nova_resize.py, one command a line. */
class ShimProcess {
  private readonly child: ChildProcess;
  private readonly answers: AsyncIterator<string>;
  private stderr = '';

  constructor(installed: string, service: RunningService, uuid: string) {
    this.child = spawn('/usr/bin/python3', [join(repoRoot, 'bench/nova_resize.py')], {
      cwd: tmpdir(),
      env: {
        ...process.env,
        PYTHONDONTWRITEBYTECODE: '1',
        DVB_SHIM_PATH: installed,
        DVB_URL: service.url,
        DVB_TOKEN: service.token,
        DVB_UUID: uuid,
        DVB_IMAGE: IMAGE,
        DVB_COMMAND: COMMAND.join(' '),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.child.stdin!.on('error', () => undefined);
    this.answers = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  async call(command: 'spawn' | 'resize' | 'destroy'): Promise<Record<string, number>> {
    this.child.stdin!.write(`${command}\n`);
    const line = await this.answers.next();
    if (line.done) throw new Error(`bench/nova_resize.py ended before answering ${command}: ${this.stderr.split('\n').slice(-15).join('\n')}`);
    const answer = JSON.parse(line.value) as { seen?: Record<string, number>; error?: string };
    if (answer.error !== undefined) throw new Error(`nova resize bench, ${command}:\n${answer.error}`);
    return answer.seen!;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await exited;
  }
}
