/** Labels that mark a container (or snapshot image) as dockvisor's, and say whose VM it is. */
export const LABEL_OWNER = 'io.dockvisor.owner';
export const LABEL_FRONT_END = 'io.dockvisor.front-end';
export const LABEL_VM_ID = 'io.dockvisor.vm-id';
export const LABEL_SPEC_HASH = 'io.dockvisor.spec-hash';
export const LABEL_SNAPSHOT_OF = 'io.dockvisor.snapshot-of';

export const OWNER_VALUE = 'dockvisor';

export type FrontEnd = 'opennebula' | 'nova';

/** Our containers; with a front-end, only that front-end's, so that each one sees only its own VMs. */
export function ownedContainerFilter(frontEnd?: FrontEnd): string[] {
  const owned = [`${LABEL_OWNER}=${OWNER_VALUE}`];
  return frontEnd ? [...owned, `${LABEL_FRONT_END}=${frontEnd}`] : owned;
}
