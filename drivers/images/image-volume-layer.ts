import { Readable } from 'node:stream';
import { InvalidInputError } from '../core/errors.ts';
import { tarArchive } from '../core/tar-archive.ts';
import type { ImageVolumeArchive } from '../core/image-volume-archive.ts';
import type { HostDisks } from './host-disks.ts';
import { ImageUpload } from './registry/image-upload.ts';
import { DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_MANIFEST, type ImageManifest } from './registry/media-types.ts';
import { sha256, type RegistryClient } from './registry/registry-client.ts';
import { layerFromTar } from './tarball/layer-stream.ts';

const ARCHIVE_TIMEOUT_MS = 30 * 60_000;
const CONFIG_LIMIT = 4 * 1024 * 1024;
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/**
 * Adds the VM's image volumes to the root disk just pushed as `repository:tag`, as one more layer holding each
 * volume's files at its path. The engine saves a container without its volumes; with this layer the image carries
 * them, and a VM made from it gets them in its new, empty volumes, which the engine fills from the image's paths.
 * Each path is marked opaque in the layer, so that files deleted from a volume stay deleted. Nothing is done for a
 * VM without image volumes.
 */
export async function addImageVolumesLayer(disks: HostDisks, vmId: number, registry: RegistryClient, repository: string, tag: string): Promise<void> {
  await addVolumesLayer((timeoutMs) => disks.openImageVolumes(vmId, timeoutMs), `VM ${vmId}`, registry, repository, tag);
}

/** addImageVolumesLayer for any VM: `open` gives its image volumes' archive (undefined: none), `owner` names it in messages. */
export async function addVolumesLayer(
  open: (timeoutMs: number) => Promise<ImageVolumeArchive | undefined>,
  owner: string,
  registry: RegistryClient,
  repository: string,
  tag: string,
): Promise<void> {
  const opened = await open(ARCHIVE_TIMEOUT_MS);
  if (!opened) return;
  const upload = new ImageUpload(registry, repository);
  try {
    const fetched = await registry.getManifest(repository, tag);
    if (fetched.mediaType !== DOCKER_MANIFEST && fetched.mediaType !== OCI_MANIFEST)
      throw new InvalidInputError(
        `${owner}: its saved root disk ${repository}:${tag} is a ${fetched.mediaType}, not one image; its image volumes cannot join it`,
      );
    const manifest = JSON.parse(fetched.body.toString('utf8')) as ImageManifest;
    const config = JSON.parse((await registry.readBlob(repository, manifest.config.digest, CONFIG_LIMIT)).toString('utf8')) as ImageConfig;
    const opaque = tarArchive(opened.paths.map((path) => ({ name: `${path.slice(1)}/.wh..wh..opq` })));
    const content = Readable.from(withPrefix(opaque.subarray(0, opaque.length - 1024), opened.archive as AsyncIterable<Buffer>));
    const layer = layerFromTar(content, false);
    const blob = await upload.streamBlob(layer.compressed);
    config.rootfs.diff_ids.push(layer.diffId());
    config.history = [
      ...(config.history ?? []),
      { created: new Date().toISOString(), created_by: `dockvisor: image volumes ${opened.paths.join(' ')} of ${owner}` },
    ];
    const configBody = Buffer.from(JSON.stringify(config));
    const configDigest = sha256(configBody);
    await upload.ensureBlob(configDigest, async () => configBody);
    const layerType = fetched.mediaType === OCI_MANIFEST ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP;
    const updated = {
      ...manifest,
      config: { ...manifest.config, digest: configDigest, size: configBody.length },
      layers: [...manifest.layers, { mediaType: layerType, digest: blob.digest, size: blob.size }],
    };
    await upload.finish(tag, fetched.mediaType, Buffer.from(JSON.stringify(updated)));
  } catch (error) {
    await upload.abandon();
    throw error;
  } finally {
    await opened.done();
  }
}

interface ImageConfig {
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string }[];
}

async function* withPrefix(prefix: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield prefix;
  yield* rest;
}
