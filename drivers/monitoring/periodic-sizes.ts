import { readState, writeState } from './state-file.ts';

interface Sizes {
  time: number;
  bytes: Record<string, number>;
}

/**
 * Sizes the engine measures on disk, which is slow on a dense host: measured at most every `maxAgeSeconds` and
 * read from `statePath` in between (as OpenNebula's own datastore monitoring is periodic too), sooner when the
 * last measure does not `cover` what is asked now (or the clock went back).
 */
export async function periodicSizes(
  statePath: string,
  now: number,
  maxAgeSeconds: number,
  measure: () => Promise<Record<string, number>>,
  covers: (bytes: Record<string, number>) => boolean = () => true,
): Promise<Record<string, number>> {
  const cached = readState<Sizes>(statePath, { time: 0, bytes: {} });
  if (cached.time && now - cached.time < maxAgeSeconds && now >= cached.time && covers(cached.bytes)) return cached.bytes;
  const bytes = await measure();
  writeState(statePath, { time: now, bytes });
  return bytes;
}
