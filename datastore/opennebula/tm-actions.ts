import { InvalidInputError, NotSupportedError } from '../../drivers/core/errors.ts';
import * as check from '../../drivers/core/validate.ts';
import { CURRENT_TAG, migrationRepository, parseSource } from '../datastore-images.ts';
import { storeDiskVolume } from '../volume-image.ts';
import { parseHostPath, requireDiskId, vmIdArg, type HostPath } from './tm-args.ts';
import { contextFiles } from './context-files.ts';
import type { TransferContext } from './transfer-context.ts';

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
    const disks = tm.disksOn(target.host);
    if (target.diskId === undefined) await disks.removeVm(vmIdArg(vid));
    else await disks.removeDisk(vmIdArg(vid), target.diskId);
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
    const from = parseHostPath(src, 'mv source');
    const to = parseHostPath(dst, 'mv destination');
    const vmId = vmIdArg(vid);
    if (from.host === to.host) return;
    if (from.diskId === undefined) {
      // The whole directory moves last: what is left of the VM on the old host (its context volume) goes.
      await tm.disksOn(from.host).removeVm(vmId);
      return;
    }
    await moveDisk(tm, from, to, vmId);
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
 * root disk is the container's filesystem, committed and pushed by the host; another disk is its volume,
 * archived by the host and stored through the front-end.
 */
async function saveDisk(tm: TransferContext, disk: HostPath, source: string | undefined, vmId: number, action: string): Promise<void> {
  const diskId = requireDiskId(disk, `${action} disk`);
  const image = parseSource(check.plainText(source ?? '', 'SOURCE', 2048), undefined);
  const disks = tm.disksOn(disk.host);
  if (await disks.hasRootDisk(vmId, diskId)) return disks.saveContainer(vmId, image);
  if (!(await disks.hasDiskVolume(vmId, diskId))) throw new InvalidInputError(`${action}: VM ${vmId} has no disk ${diskId} on ${disk.host}`);
  await storeDiskVolume(disks, vmId, diskId, tm.registry(image.registry), image.repository, CURRENT_TAG);
}

/**
 * Cold migration of one disk through the registry the VM's root disk came from: the root disk is committed on
 * the old host and pulled on the new one; a volume is archived and filled again on the new host. What is left
 * on the old host goes when the VM's directory moves, last.
 */
async function moveDisk(tm: TransferContext, from: HostPath, to: HostPath, vmId: number): Promise<void> {
  const diskId = requireDiskId(from, 'mv source');
  const source = tm.disksOn(from.host);
  const isRoot = await source.hasRootDisk(vmId, diskId);
  if (!isRoot && !(await source.hasDiskVolume(vmId, diskId))) return; // the context or a disk never made: remade on the new host
  const destination = tm.disksOn(to.host);
  // The root disk may have moved already (disk 0 moves first): then the new host knows where it came from.
  const registry = (await source.rootDiskRegistry(vmId)) ?? (await destination.rootDiskRegistry(vmId));
  if (!registry) throw new InvalidInputError(`mv: VM ${vmId}'s root disk on ${from.host} did not come from a registry; its disks cannot move`);
  const travel = { registry, repository: migrationRepository(vmId) };
  const tag = `disk-${diskId}`;
  const client = tm.registry(registry);
  if (isRoot) {
    await source.saveContainer(vmId, travel, tag);
    const digest = await client.resolveManifest(travel.repository, tag);
    if (!digest) throw new InvalidInputError(`mv: the registry ${registry} lost VM ${vmId}'s disk ${diskId} on its way`);
    // Pulled by digest, the image keeps naming the registry it came from, for the VM's next move.
    await destination.placeDisk(vmId, diskId, { ...travel, digest });
    await source.removeDisk(vmId, diskId);
  } else {
    const digest = await storeDiskVolume(source, vmId, diskId, client, travel.repository, tag);
    await destination.placeDisk(vmId, diskId, { ...travel, digest });
    await destination.untag(`${registry}/${travel.repository}@${digest}`);
  }
  const digest = await client.resolveManifest(travel.repository, tag);
  if (digest) await client.deleteManifest(travel.repository, digest);
}
