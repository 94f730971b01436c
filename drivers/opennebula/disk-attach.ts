import { InvalidInputError } from '../core/errors.ts';
import { diskVolume } from '../core/disk-names.ts';
import { printable } from '../core/validate.ts';
import type { RequestedPrivileges, VolumeMount } from '../core/vm-spec.ts';
import { DOCKVISOR_TM } from './vm-disks.ts';
import type { OneVm } from './vm-document.ts';
import { child, children, parseDocument, text } from './xml.ts';

/**
 * A VM takes hot-plugged disks when dockvisor's transfer driver makes its disks (they are volumes) and it runs
 * under the engine's default runtime: a sandbox runtime keeps its own mount table, which the host cannot reach.
 */
export function hotplugsDisks(systemTm: string | undefined, privileges: RequestedPrivileges): boolean {
  return systemTm === DOCKVISOR_TM && privileges.runtime === undefined;
}

/**
 * The disk oned attaches or detaches: the template's one DISK with ATTACH=YES, which the argv must name
 * (`<deploy id> <disk path> <target> <target index> <vm id> <host>`: its TARGET, and `.../<vm id>/disk.<DISK_ID>`).
 * Only a disk dockvisor's transfer driver made can be hot-plugged: it is the volume the VM's document lists.
 */
export function attachedDisk(vm: OneVm, argv: string[], stdin: string): VolumeMount {
  const [, diskPath = '', target = '', targetIndex = ''] = argv;
  const where = `VM ${vm.id}: `;
  const template = child(child(parseDocument(stdin, 'VMM_DRIVER_ACTION_DATA'), 'VM'), 'TEMPLATE');
  const attaching = children(template, 'DISK', where).filter((disk) => text(disk, 'ATTACH', `${where}DISK/`) === 'YES');
  if (attaching.length !== 1) throw new InvalidInputError(`${where}expected one DISK with ATTACH=YES in the VM template, found ${attaching.length}`);
  const disk = attaching[0]!;
  const diskId = text(disk, 'DISK_ID', `${where}DISK/`) ?? '';
  if (text(disk, 'TARGET', `${where}DISK ${diskId}/`) !== target) {
    throw new InvalidInputError(`${where}target "${printable(target)}" on the command line is not DISK ${diskId}'s TARGET`);
  }
  if (!diskPath.endsWith(`/${vm.id}/disk.${diskId}`)) {
    throw new InvalidInputError(
      `${where}disk path "${printable(diskPath)}" on the command line is not DISK ${diskId}'s (<datastore path>/${vm.id}/disk.${diskId})`,
    );
  }
  if (!/^[0-9]{1,4}$/.test(targetIndex)) throw new InvalidInputError(`${where}target index "${printable(targetIndex)}" on the command line is not a number`);
  const volume = vm.spec.volumes?.find((mount) => mount.volume === diskVolume(vm.spec.containerName, Number(diskId)));
  if (!volume) {
    throw new InvalidInputError(`${where}DISK ${diskId} is not a disk of dockvisor's transfer driver (TM_MAD ${DOCKVISOR_TM}); only those can be hot-plugged`);
  }
  return volume;
}
