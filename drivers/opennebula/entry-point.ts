import { runEntryPoint } from '../core/entry-point.ts';

/** OpenNebula reads exit code 42 from a driver action as "the remotes are missing" and copies them again. */
const REMOTES_MISSING = 42;

/**
 * How every executable OpenNebula runs (VMM and TM actions, probes, DS actions) ends: as runEntryPoint, and
 * never with 42, which would send oned to copy the remotes instead of reporting the failure.
 */
export function runOpenNebulaEntryPoint(label: string, main: () => Promise<number | void>): void {
  runEntryPoint(label, async () => {
    const code = await main();
    return code === REMOTES_MISSING ? 1 : code;
  });
}
