import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchUuid, rawSpawn, serviceDestroy, serviceSpawn } from './nova-bench.ts';
import type { RunningService } from './nova-service.ts';
import type { RawEngine } from './raw-engine.ts';
import { COMMAND, IMAGE, RAW_CONTAINER_PREFIX, type NovaPlan } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface RebuildResult {
  rounds: number;
  service: Summary;
  raw: Summary;
  ratio: { median: number; mean: number };
}

interface Context {
  engine: RawEngine;
  service: RunningService;
  abort: AbortSignal;
}

/** Seconds the raw container gets to stop, as the service's host config gives its own. */
const RAW_STOP_SECONDS = 10;

/**
 * Rebuild of a running instance through the service (to the same image, present on the host: what is timed is
 * the service's checks, the graceful stop and the remake, not a pull), against the engine's stop + remove +
 * create + start of a container of that image under the engine's init, as the service's are. Making the instance
 * or container beforehand and removing it afterwards are not timed.
 */
export async function runRebuildRounds(ctx: Context, plan: NovaPlan, settleMs: number, progress: (line: string) => void): Promise<RebuildResult> {
  const samples = { service: [] as number[], raw: [] as number[] };
  for (let round = 0; round < plan.warmup + plan.rounds; round++) {
    ctx.abort.throwIfAborted();
    const counted = round >= plan.warmup;
    const uuid = await serviceSpawn(ctx.service, benchUuid());
    const service = await timedThen(() => serviceRebuild(ctx.service, uuid));
    await serviceDestroy(ctx.service, uuid);
    await sleep(settleMs, undefined, { signal: ctx.abort });
    const name = await rawSpawn(ctx.engine, `${RAW_CONTAINER_PREFIX}nova-rebuild-${round}`, true);
    const raw = await timedThen(() => rawRebuild(ctx.engine, name));
    await ctx.engine.removeContainer(name);
    await sleep(settleMs, undefined, { signal: ctx.abort });
    if (counted) {
      samples.service.push(service);
      samples.raw.push(raw);
    }
    progress(
      `nova rebuild ${counted ? `round ${round - plan.warmup + 1}/${plan.rounds}` : `warm-up ${round + 1}/${plan.warmup}`}: service ${service.toFixed(1)} ms, raw ${raw.toFixed(1)} ms`,
    );
  }
  const service = summarize(samples.service);
  const raw = summarize(samples.raw);
  return { rounds: plan.rounds, service, raw, ratio: { median: service.median / raw.median, mean: service.mean / raw.mean } };
}

async function timedThen(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function serviceRebuild(service: RunningService, uuid: string): Promise<void> {
  const response = await fetch(`${service.url}/v1/instances/${uuid}/rebuild`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ image: IMAGE, command: COMMAND, flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 }, network_info: [] }),
  });
  const answer = (await response.json()) as { state?: string; message?: string };
  if (response.status !== 200 || answer.state !== 'RUNNING') throw new Error(`rebuild of ${uuid}: ${response.status} ${answer.message ?? answer.state}`);
}

async function rawRebuild(engine: RawEngine, name: string): Promise<void> {
  await engine.expect('POST', `/containers/${encodeURIComponent(name)}/stop?t=${RAW_STOP_SECONDS}`, [204, 304]);
  await engine.removeContainer(name);
  await rawSpawn(engine, name, true);
}
