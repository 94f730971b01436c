import { InvalidInputError } from '../../core/errors.ts';
import { migrationRepository } from '../../images/datastore-images.ts';
import { addImageVolumesLayer } from '../../images/image-volume-layer.ts';
import { storeDiskVolume } from '../../images/volume-image.ts';
import { forgetParked, noteParked, parkedOn } from './parked-vms.ts';
import { requireDiskId, type HostPath } from './tm-args.ts';
import type { TransferContext } from './transfer-context.ts';

/**
 * `mv` of one disk or of the VM's directory (last). To the front-end (undeploy, stop) the VM stays parked on its
 * host; back from it (resume) it comes from there. Between two hosts it is a cold migration through the registry.
 * A front-end path that no note names a host for is taken as a host of that name.
 */
export async function moveVm(tm: TransferContext, from: HostPath, to: HostPath, vmId: number): Promise<void> {
  const parked = tm.isFrontEnd(from.host) ? parkedOn(from, vmId) : undefined;
  if (parked) return bringBack(tm, from, parked, to, vmId);
  if (from.host === to.host) return;
  if (tm.isFrontEnd(to.host)) return park(tm, from, to, vmId);
  await moveBetweenHosts(tm, from, to, vmId);
}

/** The container stops (its NICs go with its processes) and stays on the host with its disks and volumes. */
async function park(tm: TransferContext, from: HostPath, frontEnd: HostPath, vmId: number): Promise<void> {
  if (parkedOn(frontEnd, vmId) === from.host) return; // an earlier disk of the same move parked it
  await tm.disksOn(from.host).parkVm(vmId);
  noteParked(frontEnd, vmId, from.host);
}

/** Resume: nothing moves when oned picks the host the VM is parked on, else it migrates from there. */
async function bringBack(tm: TransferContext, frontEnd: HostPath, parked: string, to: HostPath, vmId: number): Promise<void> {
  if (parked !== to.host) await moveBetweenHosts(tm, { ...frontEnd, host: parked }, to, vmId);
  if (to.diskId === undefined) forgetParked(frontEnd, vmId); // the directory moves last
}

async function moveBetweenHosts(tm: TransferContext, from: HostPath, to: HostPath, vmId: number): Promise<void> {
  if (from.diskId === undefined) {
    // The whole directory moves last: what is left of the VM on the old host (its context volume) goes.
    await tm.disksOn(from.host).removeVm(vmId);
    return;
  }
  await moveDisk(tm, from, to, vmId);
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
    // The new host's empty image volumes are filled from this layer when the VM's container is made there.
    await addImageVolumesLayer(source, vmId, client, travel.repository, tag);
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
