import type { Engine } from '../engine/engine.ts';
import { imageVolumeFilter, LABEL_IMAGE_VOLUME } from './image-volumes.ts';
import type { VmRef } from './vm-status.ts';

/** Where a helper container mounts a VM's image volumes, each below it at its own path. */
const IMAGE_VOLUMES_ROOT = '/dockvisor-image-volumes';

/** A VM's image volumes as one tar stream, each at its path; `done` removes the helper container once it is read. */
export interface ImageVolumeArchive {
  archive: NodeJS.ReadableStream;
  paths: string[];
  done: () => Promise<void>;
}

/**
 * The VM's image volumes as one tar stream holding each at its path (`./var/lib/app/...`), what a layer over its
 * root disk holds; read through a never-started helper container made from `helperImage` with `helperLabels`.
 * Undefined when the VM has none.
 */
export async function openImageVolumeArchive(
  engine: Engine,
  ref: VmRef,
  helperImage: string,
  helperLabels: Record<string, string>,
  timeoutMs: number,
): Promise<ImageVolumeArchive | undefined> {
  const volumes = await engine.describeVolumes(imageVolumeFilter(ref));
  if (volumes.length === 0) return undefined;
  const mounts = volumes.map((v) => ({ volume: v.Name, path: v.Labels[LABEL_IMAGE_VOLUME]! }));
  const helper = `${ref.containerName}-image-volumes`;
  await engine.removeContainer(helper).catch(() => undefined);
  await engine.createContainer(helper, {
    Image: helperImage,
    Cmd: ['/nonexistent'],
    Labels: helperLabels,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: mounts.map((m) => ({ Type: 'volume' as const, Source: m.volume, Target: `${IMAGE_VOLUMES_ROOT}${m.path}`, ReadOnly: true })),
    },
  });
  const done = () => engine.removeContainer(helper).catch(() => undefined);
  try {
    // `<dir>/.` archives the directory's content without its own name: the paths come out as they are in the VM.
    return { archive: await engine.openArchive(helper, `${IMAGE_VOLUMES_ROOT}/.`, timeoutMs), paths: mounts.map((m) => m.path), done };
  } catch (error) {
    await done();
    throw error;
  }
}
