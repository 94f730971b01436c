import type { VmStatus } from '../core/vm-status.ts';
import { guestStateOf } from '../monitoring/guest-states.ts';

/** Nova's power states (nova/compute/power_state.py); 2 and 5 are unused there. */
export const PowerState = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;
export type PowerStateName = keyof typeof PowerState;

/**
 * A VM's status as Nova's power state. Paused comes first: the engine also calls a paused
 * container running. A container that never started is shut down; one that failed by itself, or that the kernel
 * killed for memory, crashed.
 */
export function powerStateOf(vm: Pick<VmStatus, 'phase' | 'paused' | 'exitCode'> & Partial<Pick<VmStatus, 'oomKilled'>>, suspended: boolean): PowerStateName {
  if (vm.paused || vm.phase === 'paused') return suspended ? 'SUSPENDED' : 'PAUSED';
  if (vm.phase === 'created') return 'SHUTDOWN';
  if (vm.phase === 'restarting') return 'RUNNING';
  switch (guestStateOf(vm)) {
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
