/** Labels the OpenNebula adapter keeps on its containers (through VmSpec.frontEndLabels) for its own use. */

/** OpenNebula's DISK_ID of the disk the container's writable layer stands for. */
export const LABEL_ONE_ROOT_DISK = 'io.dockvisor.opennebula.root-disk-id';
/** The OpenNebula front-end that made the container (the host config's `frontEndId`). */
export const LABEL_ONE_FRONT_END_ID = 'io.dockvisor.opennebula.front-end-id';
