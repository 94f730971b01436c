import type { Engine } from '../engine/engine.ts';
import type { ImageInspect } from '../engine/types.ts';
import { VmConflictError } from './errors.ts';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from './labels.ts';
import type { VmSpec, VolumeMount } from './vm-spec.ts';
import type { VmRef } from './vm-status.ts';

/** Marks a named volume as one of the paths the VM's image declares as VOLUME; its value is that path. */
export const LABEL_IMAGE_VOLUME = 'io.dockvisor.image-volume';

/** `<container>-vol-<n>`: n counts the image's VOLUME paths in sorted order, so a path keeps its volume across images of one VM. */
export function imageVolumeName(containerName: string, index: number): string {
  return `${containerName}-vol-${index}`;
}

export function imageVolumeLabels(ref: VmRef, path: string): Record<string, string> {
  return { [LABEL_OWNER]: OWNER_VALUE, [LABEL_FRONT_END]: ref.frontEnd, [LABEL_VM_ID]: ref.vmId, [LABEL_IMAGE_VOLUME]: path };
}

/** The labels every image volume of the VM carries, to list them. */
export function imageVolumeFilter(ref: VmRef): string[] {
  return [`${LABEL_OWNER}=${OWNER_VALUE}`, `${LABEL_FRONT_END}=${ref.frontEnd}`, `${LABEL_VM_ID}=${ref.vmId}`, LABEL_IMAGE_VOLUME];
}

/**
 * The image's VOLUME paths as named volumes of the VM. A path the VM already mounts something at (a datastore
 * disk, the context, a host mount) is left to that mount: the engine allows one mount per path, and the disk is
 * what the front-end manages. The others keep their number, so that one of them taken later renames no other.
 */
export function imageVolumeMounts(spec: VmSpec, image: ImageInspect): VolumeMount[] {
  const taken = new Set([...(spec.volumes ?? []).map((v) => v.containerPath), ...spec.privileges.hostMounts.map((m) => m.containerPath)].map(normalPath));
  return Object.keys(image.Config?.Volumes ?? {})
    .map(normalPath)
    .filter((path) => path.startsWith('/') && !path.split('/').includes('..'))
    .sort()
    .flatMap((path, index) =>
      taken.has(path) ? [] : [{ volume: imageVolumeName(spec.containerName, index), containerPath: path, readOnly: false, optional: false }],
    );
}

/** Makes the VM's image volumes that are missing; a volume of such a name that is not the VM's is refused, never used. */
export async function ensureImageVolumes(engine: Engine, spec: VmSpec, mounts: VolumeMount[]): Promise<void> {
  if (mounts.length === 0) return;
  const ours = new Set(await engine.listVolumes(imageVolumeFilter(spec)));
  for (const mount of mounts) {
    if (ours.has(mount.volume)) continue;
    if (await engine.volumeExists(mount.volume)) {
      throw new VmConflictError(
        `VM ${spec.vmId}: a volume named ${mount.volume} (for the image's VOLUME ${mount.containerPath}) exists on this host but is not this VM's; it was left alone`,
      );
    }
    await engine.createVolume(mount.volume, imageVolumeLabels(spec, mount.containerPath));
  }
}

/** Removes the VM's image volumes; volumes without its labels are never touched. */
export async function removeImageVolumes(engine: Engine, ref: VmRef): Promise<void> {
  for (const volume of await engine.listVolumes(imageVolumeFilter(ref))) await engine.removeVolume(volume);
}

/** Removes the VM's image volumes but those `mounts` mount at the path they already hold: the data a rebuild keeps. */
export async function removeImageVolumesExcept(engine: Engine, ref: VmRef, mounts: VolumeMount[]): Promise<void> {
  const kept = new Set(mounts.map((mount) => `${mount.volume}\n${mount.containerPath}`));
  for (const volume of await engine.describeVolumes(imageVolumeFilter(ref))) {
    if (!kept.has(`${volume.Name}\n${volume.Labels[LABEL_IMAGE_VOLUME]}`)) await engine.removeVolume(volume.Name);
  }
}

function normalPath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
