import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGlance } from '../test/helpers/glance.ts';
import { installShim } from '../test/helpers/nova-shim.ts';
import { ShimSteps } from '../test/helpers/shim-steps.ts';
import { startComputeService } from './nova-service.ts';
import type { RawEngine } from './raw-engine.ts';
import { ENGINE_API, ENGINE_SOCKET, IMAGE, NOVA_UUID_PREFIX } from './settings.ts';
import { summarize, type Summary } from './stats.ts';

export interface NovaSnapshotResult {
  warmup: number;
  rounds: number;
  /** What the instance wrote before its snapshots, and what Glance stored of each snapshot. */
  writtenMb: number;
  glanceBytes: number;
  /** The shim's snapshot() into Glance, against engine commit + save (to a file) of the same container. */
  service: Summary;
  raw: Summary;
  ratio: { median: number; mean: number };
}

const WRITTEN_MB = 30;

/**
 * Snapshot of one instance holding ~30 MB of its own data: the shim's snapshot() as nova-compute calls it (the
 * service commits and streams `docker save`, the shim uploads it through nova's glance API into a real Glance),
 * against the engine's commit and save of the same container to a file, in alternating rounds.
 */
export async function runNovaSnapshotBench(
  ctx: { engine: RawEngine; configPath: string; abort: AbortSignal },
  plan: { warmup: number; rounds: number },
  settleMs: number,
  progress: (line: string) => void,
): Promise<NovaSnapshotResult> {
  const glance = await startGlance();
  const service = await startComputeService(ctx.configPath);
  const installed = installShim();
  const shim = ShimSteps.start('nova_glance_snapshots.py', {
    DVT_SHIM_PATH: installed,
    DVT_TOKEN: service.token,
    DVT_URL: service.url,
    DVT_GLANCE: glance.url,
    DVT_GLANCE_PID: String(glance.pid),
    DVT_IMAGE: IMAGE,
  });
  const saves = mkdtempSync(join(tmpdir(), 'dvb-snapshot-'));
  const uuid = benchUuid();
  try {
    const base = (await shim.step('base')).image_id as string;
    await shim.step('spawn', uuid, base, 'bench');
    execFileSync('docker', ['exec', `nova-${uuid}`, 'dd', 'if=/dev/urandom', 'of=/bench-data', 'bs=1M', `count=${WRITTEN_MB}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const samples = { service: [] as number[], raw: [] as number[] };
    let glanceBytes = 0;
    for (let round = 0; round < plan.warmup + plan.rounds; round++) {
      ctx.abort.throwIfAborted();
      const counted = round >= plan.warmup;
      const seen = await shim.step('snapshot', uuid, base);
      if (seen.glance.status !== 'active') throw new Error(`snapshot ${seen.image_id} ended ${seen.glance.status}`);
      glanceBytes = seen.glance.size as number;
      await shim.step('delete_image', seen.image_id as string);
      const serviceMs = (seen.seconds as number) * 1000;
      await sleep(settleMs, undefined, { signal: ctx.abort });
      const rawMs = await rawSnapshot(ctx.engine, `nova-${uuid}`, join(saves, `round-${round}.tar`));
      await sleep(settleMs, undefined, { signal: ctx.abort });
      if (counted) {
        samples.service.push(serviceMs);
        samples.raw.push(rawMs);
      }
      progress(
        `nova snapshot ${counted ? `round ${round - plan.warmup + 1}/${plan.rounds}` : `warm-up ${round + 1}/${plan.warmup}`}: shim into Glance ${serviceMs.toFixed(0)} ms, commit + save ${rawMs.toFixed(0)} ms`,
      );
    }
    const service = summarize(samples.service);
    const raw = summarize(samples.raw);
    return {
      warmup: plan.warmup,
      rounds: plan.rounds,
      writtenMb: WRITTEN_MB,
      glanceBytes,
      service,
      raw,
      ratio: { median: service.median / raw.median, mean: service.mean / raw.mean },
    };
  } finally {
    await shim.step('destroy', uuid).catch(() => undefined);
    await shim.close();
    await service.stop();
    await glance.stop();
    rmSync(installed, { recursive: true, force: true });
    rmSync(saves, { recursive: true, force: true });
  }
}

/** Milliseconds for the engine's commit of the container and its `docker save` into a file; both are removed after, untimed. */
async function rawSnapshot(engine: RawEngine, container: string, file: string): Promise<number> {
  const started = performance.now();
  const { Id: id } = await engine.json<{ Id: string }>('POST', `/commit?container=${encodeURIComponent(container)}&pause=true`, [201], {});
  await saveImage(id, file);
  const ms = performance.now() - started;
  await engine.expect('DELETE', `/images/${encodeURIComponent(id)}?force=true`, [200, 404]);
  rmSync(file, { force: true });
  return ms;
}

function saveImage(id: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { socketPath: ENGINE_SOCKET, path: `/${ENGINE_API}/images/${encodeURIComponent(id)}/get`, headers: { host: 'docker' } },
      (answer) => {
        if (answer.statusCode !== 200) return reject(new Error(`engine: save of ${id} answered ${answer.statusCode}`));
        pipeline(answer, createWriteStream(file)).then(resolve, reject);
      },
    );
    request.on('error', reject);
  });
}

function benchUuid(): string {
  const hex = randomBytes(12).toString('hex');
  return `${NOVA_UUID_PREFIX}${hex.slice(0, 4)}-4${hex.slice(4, 7)}-8${hex.slice(7, 10)}-${hex.slice(10, 22)}`;
}
