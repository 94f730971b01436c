import type { NovaResult } from './nova-bench.ts';
import type { NovaSnapshotResult } from './nova-snapshot-bench.ts';
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
    ...(nova.resize ? formatResize(nova.resize) : []),
  ].join('\n');
}

function formatResize(resize: NonNullable<NovaResult['resize']>): string[] {
  const row = (name: string, s: Summary) =>
    `  ${name.padEnd(34)} ${s.median.toFixed(1).padStart(8)} ${s.mean.toFixed(1).padStart(8)} ${s.min.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)}`;
  return [
    `resize on one host through the Nova shim (migrate_disk_and_power_off + finish_migration) against stop + commit + create + start`,
    `(${resize.rounds} rounds after ${resize.warmup} warm-up; ms)        median     mean      min      max`,
    row('shim resize', resize.service),
    row('shim confirm_migration (apart)', resize.confirm),
    row('raw stop + commit + create + start', resize.raw),
    `  ratio shim / raw: median ${resize.ratio.median.toFixed(2)}, mean ${resize.ratio.mean.toFixed(2)}; goal <= ${resize.goal.maxRatio}: ${resize.goal.met ? 'met' : 'NOT met'}`,
  ];
}

/** The nova-snapshot part: the shim's snapshot into Glance against engine commit + save, with its goal. */
export function formatNovaSnapshot(snapshot: NovaSnapshotResult & { goal: { maxRatio: number; met: boolean } }): string {
  const row = (name: string, s: Summary) =>
    `  ${name.padEnd(34)} ${s.median.toFixed(1).padStart(8)} ${s.mean.toFixed(1).padStart(8)} ${s.min.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)}`;
  return [
    `nova snapshot: an instance that wrote ${snapshot.writtenMb} MB, into a real Glance through the shim (${(snapshot.glanceBytes / 1e6).toFixed(1)} MB stored)`,
    `against engine commit + save to a file of the same container (${snapshot.rounds} rounds after ${snapshot.warmup} warm-up; ms)  median     mean      min      max`,
    row('shim snapshot() into Glance', snapshot.service),
    row('commit + save', snapshot.raw),
    `  ratio shim / raw: median ${snapshot.ratio.median.toFixed(2)}, mean ${snapshot.ratio.mean.toFixed(2)} (goal <= ${snapshot.goal.maxRatio}: ${snapshot.goal.met ? 'met' : 'NOT met'})`,
  ].join('\n');
}
