import type { VmStatus } from '../core/vm-status.ts';

export type GuestState = 'running' | 'suspended' | 'stopped' | 'failed';

export interface GuestStatus {
  vmId: string;
  /** The container name, which is the front-end's deploy id. */
  name: string;
  state: GuestState;
}

/**
 * Exit codes of a container stopped from outside rather than failing by itself: a clean exit, SIGKILL and
 * SIGTERM (a shutdown or poweroff), and 255, what the engine records for containers a host reboot ended.
 */
const STOPPED_EXIT_CODES = new Set([0, 137, 143, 255]);

/** The state of each of a front-end's containers; ones in transition (created, restarting, removing) are left out. */
export function guestStatuses(vms: VmStatus[], frontEnd: string): GuestStatus[] {
  const statuses: GuestStatus[] = [];
  for (const vm of vms) {
    if (vm.frontEnd !== frontEnd) continue;
    const state = guestStateOf(vm);
    if (vm.vmId && vm.name && state) statuses.push({ vmId: vm.vmId, name: vm.name, state });
  }
  return statuses;
}

/**
 * The state of one VM as the front-ends' monitoring reports it; undefined while it is in transition. A VM the
 * kernel killed for want of memory failed, whatever its exit code says (SIGKILL, as a hard poweroff).
 */
export function guestStateOf(vm: Pick<VmStatus, 'phase' | 'exitCode'> & Partial<Pick<VmStatus, 'oomKilled'>>): GuestState | undefined {
  switch (vm.phase) {
    case 'running':
      return 'running';
    case 'paused':
      return 'suspended';
    case 'dead':
      return 'failed';
    case 'exited':
      return STOPPED_EXIT_CODES.has(vm.exitCode) && !vm.oomKilled ? 'stopped' : 'failed';
    default:
      return undefined;
  }
}
