import type { ContainerState } from '../engine/types.ts';
import { guestStateOf } from '../monitoring/guest-states.ts';

/** Nova's power states (nova/compute/power_state.py); 2 and 5 are unused there. */
export const PowerState = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;
export type PowerStateName = keyof typeof PowerState;

/**
 * A container's state as Nova's power state. Paused comes first: the engine also calls a paused
 * container running. A container that never started is shut down; one that failed by itself crashed.
 */
export function powerStateOf(state: ContainerState, suspended: boolean): PowerStateName {
  if (state.Paused || state.Status === 'paused') return suspended ? 'SUSPENDED' : 'PAUSED';
  if (state.Status === 'created') return 'SHUTDOWN';
  if (state.Status === 'restarting') return 'RUNNING';
  switch (guestStateOf(state)) {
    case 'running':
      return 'RUNNING';
    case 'stopped':
      return 'SHUTDOWN';
    case 'failed':
      return 'CRASHED';
    default:
      return 'NOSTATE';
  }
}
