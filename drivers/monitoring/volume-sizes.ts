import { periodicSizes } from './periodic-sizes.ts';

/**
 * The size of each named volume, by name. The engine measures volumes only all at once, on disk: they are
 * measured at most every `maxAgeSeconds` and reported from `statePath` in between, as writable layers are;
 * sooner when one of the `wanted` volumes is new since the last measure.
 */
export function measuredVolumeSizes(
  wanted: string[],
  measure: () => Promise<Record<string, number>>,
  statePath: string,
  now: number,
  maxAgeSeconds = 300,
): Promise<Record<string, number>> {
  return periodicSizes(statePath, now, maxAgeSeconds, measure, (bytes) => wanted.every((name) => Object.hasOwn(bytes, name)));
}
