import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NovaResizeResult } from './nova-resize-bench.ts';
import type { RunningService } from './nova-service.ts';
import { forEachBounded } from './pool.ts';
import type { RawEngine } from './raw-engine.ts';
import { BENCH_LABEL, BENCH_LABEL_VALUE, COMMAND, IMAGE, NOVA_UUID_PREFIX, RAW_CONTAINER_PREFIX, type NovaPlan } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface NovaResult {
  warmup: number;
  rounds: number;
  /** One spawn at a time: POST /v1/instances until it answers RUNNING, against engine create + start. */
  single: { service: Summary; raw: Summary; ratio: { median: number; mean: number } };
  /** `spawns` spawns with `concurrency` in flight, wall time for all, against the engine at the same concurrency. */
  concurrent: {
    concurrency: number;
    spawns: number;
    serviceSeconds: number;
    rawSeconds: number;
    servicePerSecond: number;
    rawPerSecond: number;
    ratio: number;
  };
  /** Resize on one host through the shim against stop + commit + create + start by hand (bench/nova-resize-bench.ts). */
  resize?: NovaResizeResult & { goal: { maxRatio: number; met: boolean } };
}

interface Context {
  engine: RawEngine;
  service: RunningService;
  abort: AbortSignal;
}

/**
 * The compute service against the engine it drives: rounds of (service spawn, raw create + start) for
 * the one-at-a-time cost, then a batch of each at the same concurrency for the throughput. Every
 * instance and container is removed, untimed, after its step.
 */
export async function runNovaBench(ctx: Context, plan: NovaPlan, settleMs: number, progress: (line: string) => void): Promise<NovaResult> {
  const samples = { service: [] as number[], raw: [] as number[] };
  for (let round = 0; round < plan.warmup + plan.rounds; round++) {
    ctx.abort.throwIfAborted();
    const counted = round >= plan.warmup;
    const service = await timed(
      () => serviceSpawn(ctx.service, benchUuid()),
      (uuid) => serviceDestroy(ctx.service, uuid),
    );
    await sleep(settleMs, undefined, { signal: ctx.abort });
    const raw = await timed(
      () => rawSpawn(ctx.engine, `${RAW_CONTAINER_PREFIX}nova-${round}`),
      (name) => ctx.engine.removeContainer(name),
    );
    await sleep(settleMs, undefined, { signal: ctx.abort });
    if (counted) {
      samples.service.push(service);
      samples.raw.push(raw);
    }
    progress(
      `nova ${counted ? `round ${round - plan.warmup + 1}/${plan.rounds}` : `warm-up ${round + 1}/${plan.warmup}`}: service ${service.toFixed(1)} ms, raw ${raw.toFixed(1)} ms`,
    );
  }
  const single = { service: summarize(samples.service), raw: summarize(samples.raw) };

  const serviceSeconds = await batch(
    plan,
    ctx.abort,
    () => serviceSpawn(ctx.service, benchUuid()),
    (uuid) => serviceDestroy(ctx.service, uuid),
  );
  progress(`nova: ${plan.spawns} spawns through the service, ${plan.concurrency} at a time: ${serviceSeconds.toFixed(2)} s`);
  await sleep(settleMs, undefined, { signal: ctx.abort });
  let n = 0;
  const rawSeconds = await batch(
    plan,
    ctx.abort,
    () => rawSpawn(ctx.engine, `${RAW_CONTAINER_PREFIX}nova-batch-${n++}`),
    (name) => ctx.engine.removeContainer(name),
  );
  progress(`nova: ${plan.spawns} raw create + start, ${plan.concurrency} at a time: ${rawSeconds.toFixed(2)} s`);

  const servicePerSecond = plan.spawns / serviceSeconds;
  const rawPerSecond = plan.spawns / rawSeconds;
  return {
    warmup: plan.warmup,
    rounds: plan.rounds,
    single: { ...single, ratio: { median: single.service.median / single.raw.median, mean: single.service.mean / single.raw.mean } },
    concurrent: {
      concurrency: plan.concurrency,
      spawns: plan.spawns,
      serviceSeconds,
      rawSeconds,
      servicePerSecond,
      rawPerSecond,
      ratio: servicePerSecond / rawPerSecond,
    },
  };
}

/** Milliseconds `make` took; `remove` follows, untimed. */
async function timed<T>(make: () => Promise<T>, remove: (made: T) => Promise<void>): Promise<number> {
  const started = performance.now();
  const made = await make();
  const ms = performance.now() - started;
  await remove(made);
  return ms;
}

/** Seconds for `plan.spawns` makes with `plan.concurrency` in flight; all are removed afterwards, untimed. */
async function batch<T>(plan: NovaPlan, abort: AbortSignal, make: () => Promise<T>, remove: (made: T) => Promise<void>): Promise<number> {
  const made: T[] = [];
  const started = performance.now();
  try {
    await forEachBounded(Array.from({ length: plan.spawns }), plan.concurrency, async () => void made.push(await make()), abort);
    return (performance.now() - started) / 1000;
  } finally {
    await forEachBounded(made, plan.concurrency, remove);
  }
}

function benchUuid(): string {
  const hex = randomBytes(12).toString('hex');
  return `${NOVA_UUID_PREFIX}${hex.slice(0, 4)}-4${hex.slice(4, 7)}-8${hex.slice(7, 10)}-${hex.slice(10, 22)}`;
}

async function serviceSpawn(service: RunningService, uuid: string): Promise<string> {
  const response = await fetch(`${service.url}/v1/instances`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ uuid, image: IMAGE, command: COMMAND, flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 } }),
  });
  const answer = (await response.json()) as { state?: string; message?: string };
  if (response.status !== 201 || answer.state !== 'RUNNING') throw new Error(`spawn of ${uuid}: ${response.status} ${answer.message ?? answer.state}`);
  return uuid;
}

async function serviceDestroy(service: RunningService, uuid: string): Promise<void> {
  const response = await fetch(`${service.url}/v1/instances/${uuid}`, { method: 'DELETE', headers: { authorization: `Bearer ${service.token}` } });
  if (response.status !== 204) throw new Error(`destroy of ${uuid}: ${response.status} ${await response.text()}`);
}

/** The same image and command straight at the engine: create, then start. */
async function rawSpawn(engine: RawEngine, name: string): Promise<string> {
  await engine.expect('POST', `/containers/create?name=${encodeURIComponent(name)}`, [201], {
    Image: IMAGE,
    Cmd: COMMAND,
    Labels: { [BENCH_LABEL]: BENCH_LABEL_VALUE },
    HostConfig: { NetworkMode: 'none' },
  });
  await engine.expect('POST', `/containers/${encodeURIComponent(name)}/start`, [204]);
  return name;
}
