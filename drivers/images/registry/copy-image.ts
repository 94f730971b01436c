import { RegistryError } from './registry-errors.ts';
import type { ImageName } from './image-name.ts';
import { manifestReference } from './image-name.ts';
import { ImageUpload } from './image-upload.ts';
import { isImageManifest, isIndex, type ImageManifest, type ManifestIndex } from './media-types.ts';
import type { FetchedManifest, RegistryClient } from './registry-client.ts';
import { engineArchitecture } from './single-image.ts';

export interface StoredImage {
  repository: string;
  digest: string;
  /** Config and layers as stored (compressed). */
  sizeBytes: number;
}

/**
 * Copies one image (this host's platform when the source is multi-platform) from `source` into
 * `upload`'s repository, blob by blob, and tags it. A blob the target already has is not sent again.
 */
export async function copyImage(source: RegistryClient, name: ImageName, upload: ImageUpload, tag: string, mountFrom?: string): Promise<StoredImage> {
  const manifest = await platformManifest(source, name);
  const image = parseImageManifest(manifest, name.repository);
  try {
    for (const blob of [image.config, ...image.layers]) {
      await upload.ensureBlob(blob.digest, () => source.openBlob(name.repository, blob.digest), mountFrom);
    }
    const digest = await upload.finish(tag, manifest.mediaType, manifest.body);
    return { repository: upload.repository, digest, sizeBytes: imageSize(image) };
  } catch (error) {
    await upload.abandon();
    throw error;
  }
}

export async function platformManifest(registry: RegistryClient, name: ImageName): Promise<FetchedManifest> {
  const first = await registry.getManifest(name.repository, manifestReference(name));
  if (isImageManifest(first.mediaType)) return first;
  if (!isIndex(first.mediaType))
    throw new RegistryError(`image ${name.repository}: manifest type ${first.mediaType.slice(0, 80)} is not supported (Docker v2 schema 2 or OCI only)`);
  const index = JSON.parse(first.body.toString('utf8')) as ManifestIndex;
  const arch = engineArchitecture();
  const chosen = index.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
  if (!chosen) throw new RegistryError(`image ${name.repository}: no linux/${arch} variant in its manifest list`);
  const manifest = await registry.getManifest(name.repository, chosen.digest);
  if (!isImageManifest(manifest.mediaType)) throw new RegistryError(`image ${name.repository}: its linux/${arch} entry is not an image manifest`);
  return manifest;
}

export function parseImageManifest(manifest: FetchedManifest, repository: string): ImageManifest {
  const parsed = JSON.parse(manifest.body.toString('utf8')) as Partial<ImageManifest>;
  const valid = (d: unknown) => !!d && typeof (d as { digest?: unknown }).digest === 'string' && /^sha256:[a-f0-9]{64}$/.test((d as { digest: string }).digest);
  if (!valid(parsed.config) || !Array.isArray(parsed.layers) || !parsed.layers.every(valid)) {
    throw new RegistryError(`image ${repository}: the manifest does not list a config and layers by sha256 digest`);
  }
  return parsed as ImageManifest;
}

export function imageSize(image: ImageManifest): number {
  return [image.config, ...image.layers].reduce((sum, blob) => sum + (Number(blob.size) || 0), 0);
}
