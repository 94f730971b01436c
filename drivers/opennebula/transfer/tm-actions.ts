import { InvalidInputError, NotSupportedError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';
import { CURRENT_TAG, parseSource } from '../../images/datastore-images.ts';
import { addImageVolumesLayer } from '../../images/image-volume-layer.ts';
import { storeDiskVolume } from '../../images/volume-image.ts';
import { parseHostPath, requireDiskId, vmIdArg, type HostPath } from './tm-args.ts';
import { contextFiles } from './context-files.ts';
import { forgetParked } from './parked-vms.ts';
import type { TransferContext } from './transfer-context.ts';
import { moveVm } from './vm-moves.ts';

/** One transfer action: OpenNebula's argv in; stdout is ignored by oned. */
export type TmAction = (argv: string[], tm: TransferContext) => Promise<void>;

/** The actions of remotes/tm/dockvisor; the ones missing here answer "not supported". */
export const tmActions: Record<string, TmAction> = {
  clone: placeDisk,
  ln: placeDisk,

  async mkimage(argv, tm) {
    const [, , dst, vid] = argv;
    const target = parseHostPath(dst, 'mkimage destination');
    await tm.disksOn(target.host).createEmptyVolume(vmIdArg(vid), requireDiskId(target, 'mkimage destination'));
  },

  async context(argv, tm) {
    if (argv.length < 4) throw new InvalidInputError('context expects <context.sh> [files...] <host>:<path> <vm id> <ds id>');
    const target = parseHostPath(argv[argv.length - 3], 'context destination');
    const vmId = vmIdArg(argv[argv.length - 2]);
    await tm.disksOn(target.host).writeContext(vmId, contextFiles(argv.slice(0, -3)));
  },

  async delete(argv, tm) {
    const [dst, vid] = argv;
    const target = parseHostPath(dst, 'delete path');
    const vmId = vmIdArg(vid);
    // A VM terminated while undeployed or stopped is deleted from the front-end: it is on the host it is parked on.
    const host = tm.hostHolding(target, vmId);
    const disks = tm.disksOn(host);
    if (target.diskId !== undefined) return disks.removeDisk(vmId, target.diskId);
    await disks.removeVm(vmId);
    if (host !== target.host) forgetParked(target, vmId);
  },

  async mvds(argv, tm) {
    const [src, source, vid] = argv;
    await saveDisk(tm, parseHostPath(src, 'mvds disk'), source, vmIdArg(vid), 'mvds');
  },

  async cpds(argv, tm) {
    const [src, source, , vid] = argv;
    await saveDisk(tm, parseHostPath(src, 'cpds disk'), source, vmIdArg(vid), 'cpds');
  },

  async mv(argv, tm) {
    const [src, dst, vid] = argv;
    await moveVm(tm, parseHostPath(src, 'mv source'), parseHostPath(dst, 'mv destination'), vmIdArg(vid));
  },

  async premigrate() {
    throw new NotSupportedError('live migration is not supported by dockvisor: power the VM off and migrate it (cold migration)');
  },

  /** A live migration that never started (premigrate refused it) has nothing to undo. */
  async failmigrate() {},
};

/** clone/ln: `<SOURCE> <host>:<path>/disk.<i> <vm id> <ds id>`; the image's current content becomes the disk. */
async function placeDisk(argv: string[], tm: TransferContext): Promise<void> {
  const [source, dst, vid] = argv;
  const target = parseHostPath(dst, 'disk destination');
  const image = parseSource(check.plainText(source ?? '', 'SOURCE', 2048), undefined);
  const digest = (await tm.registry(image.registry).resolveManifest(image.repository, CURRENT_TAG)) ?? image.digest;
  await tm.disksOn(target.host).placeDisk(vmIdArg(vid), requireDiskId(target, 'disk destination'), { ...image, digest });
}

/**
 * mvds (a persistent disk goes back) and cpds (save-as): the disk becomes the image's current content. The
 * root disk is the container's filesystem, committed and pushed by the host, with its image volumes as one
 * more layer; another disk is its volume, archived by the host and stored through the front-end.
 */
async function saveDisk(tm: TransferContext, disk: HostPath, source: string | undefined, vmId: number, action: string): Promise<void> {
  const diskId = requireDiskId(disk, `${action} disk`);
  const image = parseSource(check.plainText(source ?? '', 'SOURCE', 2048), undefined);
  const host = tm.hostHolding(disk, vmId);
  const disks = tm.disksOn(host);
  if (await disks.hasRootDisk(vmId, diskId)) {
    await disks.saveContainer(vmId, image);
    return addImageVolumesLayer(disks, vmId, tm.registry(image.registry), image.repository, CURRENT_TAG);
  }
  if (!(await disks.hasDiskVolume(vmId, diskId))) throw new InvalidInputError(`${action}: VM ${vmId} has no disk ${diskId} on ${host}`);
  await storeDiskVolume(disks, vmId, diskId, tm.registry(image.registry), image.repository, CURRENT_TAG);
}
