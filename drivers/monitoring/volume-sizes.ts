import { readState, writeState } from './state-file.ts';

interface Sizes {
  time: number;
  bytes: Record<string, number>;
}

/**
 * The size of each named volume, by name. The engine measures volumes only all at once, on disk: they are
 * measured at most every `maxAgeSeconds` and reported from `statePath` in between, as writable layers are;
 * sooner when one of the `wanted` volumes is new since the last measure.
 */
export async function measuredVolumeSizes(
  wanted: string[],
  measure: () => Promise<Record<string, number>>,
  statePath: string,
  now: number,
  maxAgeSeconds = 300,
): Promise<Record<string, number>> {
  const cached = readState<Sizes>(statePath, { time: 0, bytes: {} });
  const fresh = cached.time && now - cached.time < maxAgeSeconds && now >= cached.time;
  if (fresh && wanted.every((name) => Object.hasOwn(cached.bytes, name))) return cached.bytes;
  const bytes = await measure();
  writeState(statePath, { time: now, bytes });
  return bytes;
}
