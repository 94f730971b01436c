import type { VmStatus } from '../core/vm-status.ts';
import { periodicSizes } from './periodic-sizes.ts';

/**
 * The size of each container's writable layer (its disk, as a VM's), by container name. The engine
 * measures them on disk, which is slow on a dense host: they are measured at most every `maxAgeSeconds`
 * and reported from `statePath` in between, as OpenNebula's own datastore monitoring is periodic too.
 */
export function writableLayerSizes(
  listWithSizes: () => Promise<VmStatus[]>,
  statePath: string,
  now: number,
  maxAgeSeconds = 300,
): Promise<Record<string, number>> {
  return periodicSizes(statePath, now, maxAgeSeconds, async () => {
    const bytes: Record<string, number> = {};
    for (const vm of await listWithSizes()) {
      if (vm.name) bytes[vm.name] = vm.diskBytes ?? 0;
    }
    return bytes;
  });
}
