/**
 * Names of a VM's disks on a host, shared by the transfer actions that make them and the deploy that uses
 * them: the root disk is a local image tag, other disks are named volumes, the context is a volume too.
 */
export const ROOT_DISK_REPOSITORY = 'dockvisor-disk';

export function rootDiskRepository(containerName: string): string {
  return `${ROOT_DISK_REPOSITORY}/${containerName}`;
}

export function rootDiskTag(diskId: number): string {
  return `disk-${diskId}`;
}

export function rootDiskImage(containerName: string, diskId: number): string {
  return `${rootDiskRepository(containerName)}:${rootDiskTag(diskId)}`;
}

export function diskVolume(containerName: string, diskId: number): string {
  return `${containerName}-disk-${diskId}`;
}

export function contextVolume(containerName: string): string {
  return `${containerName}-context`;
}

export const CONTEXT_MOUNT = '/context';
