/** Names and labels the OpenNebula adapter gives its containers (labels through VmSpec.frontEndLabels) for its own use. */

/** The container of OpenNebula VM `vmId`, named as OpenNebula's deploy id: `one-<id>`. */
export function oneContainerName(vmId: number | string): string {
  return `one-${vmId}`;
}

/** OpenNebula's DISK_ID of the disk the container's writable layer stands for. */
export const LABEL_ONE_ROOT_DISK = 'io.dockvisor.opennebula.root-disk-id';
/** The OpenNebula front-end that made the container (the host config's `frontEndId`). */
export const LABEL_ONE_FRONT_END_ID = 'io.dockvisor.opennebula.front-end-id';
