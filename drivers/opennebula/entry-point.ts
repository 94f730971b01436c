import { runEntryPoint } from '../core/entry-point.ts';

/** OpenNebula reads exit code 42 from a driver action as "the remotes are missing" and copies them again. */
const REMOTES_MISSING = 42;

/** The code an action OpenNebula runs may end with: any but 42, which would send oned to copy the remotes. */
export function openNebulaExitCode(code: number): number {
  return code === REMOTES_MISSING ? 1 : code;
}

/**
 * How every executable OpenNebula runs (VMM and TM actions, probes, DS actions) ends: as runEntryPoint, and
 * never with 42, which would send oned to copy the remotes instead of reporting the failure.
 */
export function runOpenNebulaEntryPoint(label: string, main: () => Promise<number | void>): void {
  runEntryPoint(label, async () => openNebulaExitCode((await main()) ?? 0));
}
