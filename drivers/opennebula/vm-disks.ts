import { InvalidInputError } from '../core/errors.ts';
import { CONTEXT_MOUNT, contextVolume, diskVolume } from '../core/disk-names.ts';
import { LABEL_ONE_ROOT_DISK } from './one-labels.ts';
import * as check from '../core/validate.ts';
import type { VolumeMount } from '../core/vm-spec.ts';
import { child, children, text, type XmlNode } from './xml.ts';

/** The transfer driver dockvisor disks go through: its own makes the root disk a local image and the others volumes. */
export const DOCKVISOR_TM = 'dockvisor';

/**
 * A DISK of the template as dockvisor reads it. Every field is read from every disk, whether it is used or
 * not, so that a field given twice is refused on any disk, as everywhere else in the document.
 */
export interface OneDisk {
  id?: string;
  source?: string;
  tmMad?: string;
  imageId?: string;
  type?: string;
  target?: string;
  readOnly: boolean;
}

/**
 * The template's disks, and its root disk (OS/BOOT's first disk, else disk 0): the container's writable layer.
 * oned numbers the template's disks from 0 and the context after them, so a VM made from an image with no DISK
 * has none numbered 0 (its context is), and a datablock attached to it later is not taken for its root.
 */
export function readDisks(template: XmlNode, where: string): { disks: OneDisk[]; root: OneDisk | undefined } {
  const disks = children(template, 'DISK', where).map((disk) => {
    const id = text(disk, 'DISK_ID', `${where}DISK/`);
    const at = `${where}DISK ${id ?? ''}/`;
    return {
      id,
      source: text(disk, 'SOURCE', at),
      tmMad: text(disk, 'TM_MAD', at),
      imageId: text(disk, 'IMAGE_ID', at),
      type: text(disk, 'TYPE', at),
      target: text(disk, 'TARGET', at),
      readOnly: text(disk, 'READONLY', at) === 'YES',
    };
  });
  const bootTarget = text(child(template, 'OS', where), 'BOOT', where)?.split(',')[0];
  const root = disks.find((d) => bootTarget && `disk${d.id}` === bootTarget) ?? disks.find((d) => d.id === '0');
  return { disks, root };
}

export function isDatastoreRootDisk(root: OneDisk | undefined): boolean {
  return !!root?.source?.startsWith('docker://') && root.tmMad === DOCKVISOR_TM;
}

/**
 * Disks other than the root one, when dockvisor's transfer driver made them, are volumes mounted at the
 * disk's TARGET if it is an absolute path, else under /media/; the context files are a read-only volume.
 */
export function diskVolumes(
  disks: OneDisk[],
  root: OneDisk | undefined,
  hasContext: boolean,
  containerName: string,
  systemTm: string | undefined,
  where: string,
): VolumeMount[] {
  const volumes: VolumeMount[] = [];
  for (const disk of disks) {
    if (disk === root || disk.type?.toLowerCase() === 'swap') continue;
    const tm = disk.tmMad ?? (disk.imageId === undefined ? systemTm : undefined);
    if (tm !== DOCKVISOR_TM) continue;
    const id = diskId(disk, where);
    volumes.push({ volume: diskVolume(containerName, id), containerPath: diskMountPath(disk, id, where), readOnly: disk.readOnly, optional: false });
  }
  if (systemTm === DOCKVISOR_TM && hasContext) {
    volumes.push({ volume: contextVolume(containerName), containerPath: CONTEXT_MOUNT, readOnly: true, optional: true });
  }
  return volumes;
}

export function diskId(disk: OneDisk, where: string): number {
  if (disk.id === undefined) throw new InvalidInputError(`${where}DISK_ID is missing`);
  return check.nonNegativeInteger(disk.id, `${where}DISK_ID`, 9999);
}

export function rootDiskLabel(root: OneDisk | undefined, where: string): Record<string, string> {
  if (root?.id === undefined) return {};
  return { [LABEL_ONE_ROOT_DISK]: String(diskId(root, where)) };
}

function diskMountPath(disk: OneDisk, id: number, where: string): string {
  const target = disk.target ?? `disk${id}`;
  if (target.startsWith('/')) {
    if (!/^(\/[A-Za-z0-9_.@-]+)+$/.test(target) || target.split('/').some((part) => part === '.' || part === '..') || target === CONTEXT_MOUNT) {
      throw new InvalidInputError(`${where}DISK ${id} TARGET "${check.printable(target)}" is not a plain absolute path`);
    }
    return target;
  }
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(target))
    throw new InvalidInputError(`${where}DISK ${id} TARGET "${check.printable(target)}" is not a device name or an absolute path`);
  return `/media/${target}`;
}
