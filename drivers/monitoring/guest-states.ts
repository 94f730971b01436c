import type { ContainerState, ContainerSummary } from '../engine/types.ts';
import { LABEL_FRONT_END, LABEL_VM_ID } from '../core/labels.ts';

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
export function guestStatuses(containers: ContainerSummary[], frontEnd: string): GuestStatus[] {
  const statuses: GuestStatus[] = [];
  for (const container of containers) {
    if (container.Labels[LABEL_FRONT_END] !== frontEnd) continue;
    const vmId = container.Labels[LABEL_VM_ID];
    const name = container.Names[0]?.replace(/^\//, '');
    const state = guestState(container);
    if (vmId && name && state) statuses.push({ vmId, name, state });
  }
  return statuses;
}

/** The same mapping from an inspected container's state. */
export function guestStateOf(state: ContainerState): GuestState | undefined {
  return guestState({ State: state.Status, Status: `Exited (${state.ExitCode})` });
}

function guestState(container: Pick<ContainerSummary, 'State' | 'Status'>): GuestState | undefined {
  switch (container.State) {
    case 'running':
      return 'running';
    case 'paused':
      return 'suspended';
    case 'dead':
      return 'failed';
    case 'exited': {
      const code = Number(/^Exited \((-?\d+)\)/.exec(container.Status)?.[1] ?? 0);
      return STOPPED_EXIT_CODES.has(code) ? 'stopped' : 'failed';
    }
    default:
      return undefined;
  }
}
