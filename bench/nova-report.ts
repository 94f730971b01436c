import type { NovaResult } from './nova-bench.ts';
import type { Summary } from './stats.ts';

/** The nova part as a table: one spawn at a time, then throughput at the same concurrency, with the ratios. */
export function formatNova(nova: NovaResult): string {
  const row = (name: string, s: Summary) =>
    `  ${name.padEnd(34)} ${s.median.toFixed(1).padStart(8)} ${s.mean.toFixed(1).padStart(8)} ${s.min.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)}`;
  const c = nova.concurrent;
  return [
    `nova: spawn -> RUNNING through the compute service (HTTP, own process) against engine create + start of the same image`,
    `(${nova.rounds} rounds after ${nova.warmup} warm-up; ms)        median     mean      min      max`,
    row('compute service spawn', nova.single.service),
    row('raw create + start', nova.single.raw),
    `  ratio service / raw: median ${nova.single.ratio.median.toFixed(2)}, mean ${nova.single.ratio.mean.toFixed(2)}`,
    `rebuild of a running instance (same image, present) against engine stop + remove + create + start under init`,
    row('compute service rebuild', nova.rebuild.service),
    row('raw stop + remove + create + start', nova.rebuild.raw),
    `  ratio service / raw: median ${nova.rebuild.ratio.median.toFixed(2)}, mean ${nova.rebuild.ratio.mean.toFixed(2)}`,
    `concurrent: ${c.spawns} spawns, ${c.concurrency} in flight`,
    `  compute service: ${c.serviceSeconds.toFixed(2)} s, ${c.servicePerSecond.toFixed(2)} spawns/s`,
    `  raw engine:      ${c.rawSeconds.toFixed(2)} s, ${c.rawPerSecond.toFixed(2)} spawns/s`,
    `  ratio service / raw (spawns per second): ${c.ratio.toFixed(2)}`,
  ].join('\n');
}
