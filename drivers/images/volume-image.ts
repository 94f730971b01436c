import { Readable } from 'node:stream';
import type { HostDisks } from './host-disks.ts';
import { ImageUpload } from './registry/image-upload.ts';
import type { RegistryClient } from './registry/registry-client.ts';
import { finishImage, newImageConfig } from './registry/single-image.ts';
import { DATABLOCK_DIR, DATABLOCK_LABEL } from './tarball/datablock-layer.ts';
import { layerFromTar } from './tarball/layer-stream.ts';

const ARCHIVE_TIMEOUT_MS = 30 * 60_000;

/**
 * Stores a VM's disk volume as a datablock image `repository:tag`: the host's engine archives the volume,
 * the archive streams through the front-end into the registry as one layer. Returns the manifest digest.
 */
export async function storeDiskVolume(
  disks: HostDisks,
  vmId: number,
  diskId: number,
  registry: RegistryClient,
  repository: string,
  tag: string,
): Promise<string> {
  const upload = new ImageUpload(registry, repository);
  const { archive, done } = await disks.openDiskVolume(vmId, diskId, ARCHIVE_TIMEOUT_MS);
  try {
    const layer = layerFromTar(Readable.from(archive as AsyncIterable<Buffer>), false);
    const blob = await upload.streamBlob(layer.compressed);
    const config = newImageConfig([layer.diffId()], { labels: { [DATABLOCK_LABEL]: `/${DATABLOCK_DIR}` }, comment: `dockvisor: disk ${diskId} of VM ${vmId}` });
    return (await finishImage(upload, tag, config, [blob])).digest;
  } catch (error) {
    await upload.abandon();
    throw error;
  } finally {
    await done();
  }
}
