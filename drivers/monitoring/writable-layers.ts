import type { EngineClient } from '../engine/engine-client.ts';
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
  engine: EngineClient,
  labels: string[],
  statePath: string,
  now: number,
  maxAgeSeconds = 300,
): Promise<Record<string, number>> {
  const cached = readState<Sizes>(statePath, { time: 0, bytes: {} });
  if (cached.time && now - cached.time < maxAgeSeconds && now >= cached.time) return cached.bytes;
  const bytes: Record<string, number> = {};
  for (const container of await engine.listContainers(labels, true)) {
    const name = container.Names[0]?.replace(/^\//, '');
    // The engine leaves SizeRw out for a layer nothing was written to yet.
    if (name) bytes[name] = container.SizeRw ?? 0;
  }
  writeState(statePath, { time: now, bytes });
  return bytes;
}
