import { lstatSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatastoreConfig } from './datastore-config.ts';

/** What the DS `monitor` action reports, in MB. */
export interface Capacity {
  totalMb: number;
  freeMb: number;
  usedMb: number;
}

/** The total reported when nothing says how big the registry is: 1 PiB, so that no image is refused for it. */
export const UNKNOWN_TOTAL_MB = 1024 * 1024 * 1024;

const MB = 1024 * 1024;

/**
 * oned refuses an image larger than the datastore's FREE_MB (DATASTORE_CAPACITY_CHECK, on by default), and
 * FREE_MB is whatever the monitor printed, 0 when it printed none: so all three figures are always given.
 * They come from the registry's storage when it is visible here (REGISTRY_STORAGE_PATH), else from the
 * capacity the operator declared (REGISTRY_CAPACITY_MB), else from a total that refuses nothing.
 */
export async function registryCapacity(
  config: Pick<DatastoreConfig, 'storagePath' | 'capacityMb'>,
  imagesMb: () => Promise<number>,
  warn: (line: string) => void,
): Promise<Capacity> {
  if (config.storagePath) {
    try {
      return storageCapacity(config.storagePath);
    } catch (error) {
      warn(
        `REGISTRY_STORAGE_PATH ${config.storagePath} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); reporting what the registry says it holds`,
      );
    }
  }
  const usedMb = await imagesMb();
  const totalMb = config.capacityMb ?? UNKNOWN_TOTAL_MB;
  return { totalMb, usedMb, freeMb: Math.max(0, totalMb - usedMb) };
}

function storageCapacity(path: string): Capacity {
  const fs = statfsSync(path);
  return {
    usedMb: Math.ceil(directoryBytes(path) / MB),
    totalMb: Math.floor((fs.blocks * fs.bsize) / MB),
    freeMb: Math.floor((fs.bavail * fs.bsize) / MB),
  };
}

function directoryBytes(root: string): number {
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) total += lstatSync(path).size;
    }
  }
  return total;
}
