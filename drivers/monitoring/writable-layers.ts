import type { VmStatus } from '../core/vm-status.ts';
import { readState, writeState } from './state-file.ts';

interface Sizes {
  time: number;
  bytes: Record<string, number>;
}

/**
 * The size of each container's writable layer (its disk, as a VM's), by container name. The engine
 * measures them on disk, which is slow on a dense host: they are measured at most every `maxAgeSeconds`
 * and reported from `statePath` in between, as OpenNebula's own datastore monitoring is periodic too.
 */
export async function writableLayerSizes(
  listWithSizes: () => Promise<VmStatus[]>,
  statePath: string,
  now: number,
  maxAgeSeconds = 300,
): Promise<Record<string, number>> {
  const cached = readState<Sizes>(statePath, { time: 0, bytes: {} });
  if (cached.time && now - cached.time < maxAgeSeconds && now >= cached.time) return cached.bytes;
  const bytes: Record<string, number> = {};
  for (const vm of await listWithSizes()) {
    if (vm.name) bytes[vm.name] = vm.diskBytes ?? 0;
  }
  writeState(statePath, { time: now, bytes });
  return bytes;
}
