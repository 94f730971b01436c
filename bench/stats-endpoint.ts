import { performance } from 'node:perf_hooks';
import { LABEL_FRONT_END, ownedContainerFilter } from '../drivers/core/labels.ts';
import { forEachBounded, randomSample } from './pool.ts';
import { RawEngine } from './raw-engine.ts';

/** One timed pass of the stats-endpoint way over some containers. */
export interface StatsPass {
  /** GET /containers/<id>/stats calls made (one per container). */
  calls: number;
  /** The list call, then every stats call, until the last figure is in (ms). */
  ms: number;
  listMs: number;
  /** Mean time of one stats call, from its request to its parsed figures (ms). */
  meanCallMs: number;
}

export interface StatsEndpointResult {
  /** Running VMs the probes report, which this way reads one by one. */
  containers: number;
  concurrency: number;
  /** A random sample, timed first; the whole pass follows when the sample says it fits the budget. */
  sample: StatsPass;
  full?: StatsPass;
  /**
   * The whole pass's time: measured, or extrapolated linearly from the sample: its list call, then every
   * container at the sample's mean call time, `concurrency` at a time (a sample's own time would count its
   * last, partly filled round of calls as a full one).
   */
  ms: number;
  extrapolated: boolean;
}

/** The figures a monitoring client takes from one stats answer: the ones the vm/monitor probe reports. */
interface StatsAnswer {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
}

/**
 * The way monitoring reads these figures without dockvisor's probes: one list call, then the engine's
 * per-container stats endpoint (GET /containers/<id>/stats?stream=false, which waits for two of the
 * engine's samples to give a CPU rate) for every running VM, `concurrency` calls in flight, from this
 * one process over its own connection pool. A random sample of `sampleSize` containers is timed first;
 * when it predicts more than `budgetMs` for all of them, the whole pass is not run but extrapolated.
 */
export async function statsEndpointBaseline(
  concurrency: number,
  sampleSize: number,
  budgetMs: number,
  abort: AbortSignal,
  progress: (line: string) => void,
): Promise<StatsEndpointResult> {
  const engine = new RawEngine(concurrency);
  try {
    const ids = await runningVmIds(engine);
    if (!ids.length) throw new Error('the stats-endpoint baseline found no running VM to read');
    const sampleIds = randomSample(ids, sampleSize);
    const sample = await statsPass(engine, sampleIds, concurrency, abort);
    const predicted = sample.listMs + (sample.meanCallMs * ids.length) / concurrency;
    const result: StatsEndpointResult = { containers: ids.length, concurrency, sample, ms: predicted, extrapolated: true };
    progress(
      `monitor: stats endpoint, sample of ${sample.calls}: ${(sample.ms / 1000).toFixed(1)} s (${sample.meanCallMs.toFixed(0)} ms a call), ` +
        `${(predicted / 1000).toFixed(0)} s predicted for ${ids.length}`,
    );
    if (sample.calls < ids.length && predicted <= budgetMs) {
      result.full = await statsPass(engine, ids, concurrency, abort);
      result.ms = result.full.ms;
      result.extrapolated = false;
      progress(`monitor: stats endpoint, all ${ids.length}: ${(result.full.ms / 1000).toFixed(1)} s (${result.full.meanCallMs.toFixed(0)} ms a call)`);
    } else if (sample.calls === ids.length) {
      result.extrapolated = false;
    }
    return result;
  } finally {
    engine.close();
  }
}

/** The list call the probes make too, then the ids of the running VMs of OpenNebula among them. */
async function runningVmIds(engine: RawEngine): Promise<string[]> {
  const query = new URLSearchParams({ all: 'true', filters: JSON.stringify({ label: ownedContainerFilter() }) });
  const list = await engine.json<{ Id: string; State: string; Labels: Record<string, string> | null }[]>('GET', `/containers/json?${query}`, [200]);
  return list.filter((c) => c.Labels?.[LABEL_FRONT_END] === 'opennebula' && (c.State === 'running' || c.State === 'paused')).map((c) => c.Id);
}

async function statsPass(engine: RawEngine, ids: string[], concurrency: number, abort: AbortSignal): Promise<StatsPass> {
  const started = performance.now();
  const listed = await runningVmIds(engine);
  const listMs = performance.now() - started;
  const wanted = new Set(listed);
  let callMs = 0;
  await forEachBounded(
    ids.filter((id) => wanted.has(id)),
    concurrency,
    async (id) => {
      const callStarted = performance.now();
      const answer = await engine.request('GET', `/containers/${id}/stats?stream=false`, undefined, 120_000);
      if (answer.status === 404) return; // another user's VM removed meanwhile
      if (answer.status !== 200)
        throw new Error(`engine: GET /containers/${id.slice(0, 12)}/stats answered ${answer.status}: ${answer.text.trim().slice(0, 200)}`);
      figures(JSON.parse(answer.text) as StatsAnswer);
      callMs += performance.now() - callStarted;
    },
    abort,
  );
  const calls = ids.filter((id) => wanted.has(id)).length;
  return { calls, ms: performance.now() - started, listMs, meanCallMs: calls ? callMs / calls : 0 };
}

/** CPU % of one CPU, memory without the inactive page cache (KB), traffic and disk bytes: what vm/monitor reports. */
function figures(stats: StatsAnswer): { cpuPercent: number; memoryKb: number; netRx: number; netTx: number; diskRead: number; diskWrite: number } {
  const cpu = (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) - (stats.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const system = (stats.cpu_stats?.system_cpu_usage ?? 0) - (stats.precpu_stats?.system_cpu_usage ?? 0);
  const memory = stats.memory_stats ?? {};
  const inactive = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
  let netRx = 0;
  let netTx = 0;
  for (const net of Object.values(stats.networks ?? {})) {
    netRx += net.rx_bytes ?? 0;
    netTx += net.tx_bytes ?? 0;
  }
  let diskRead = 0;
  let diskWrite = 0;
  for (const entry of stats.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (entry.op === 'Read' || entry.op === 'read') diskRead += entry.value;
    else if (entry.op === 'Write' || entry.op === 'write') diskWrite += entry.value;
  }
  return {
    cpuPercent: system > 0 && cpu > 0 ? (cpu / system) * (stats.cpu_stats?.online_cpus ?? 1) * 100 : 0,
    memoryKb: Math.round(Math.max(0, (memory.usage ?? 0) - inactive) / 1024),
    netRx,
    netTx,
    diskRead,
    diskWrite,
  };
}
