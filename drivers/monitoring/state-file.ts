import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomically } from '../core/atomic-file.ts';

/** A small JSON state a probe keeps between runs; a missing or damaged file reads as `fallback`. */
export function readState<T>(path: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/** Written whole and renamed into place, so a probe killed mid-write never leaves half a file. */
export function writeState(path: string, state: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomically(path, JSON.stringify(state));
}
