import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatastoreConfig } from './datastore-config.ts';
import { CURRENT_TAG, imageRepository, parseSource, sourceFor } from './datastore-images.ts';
import { allowedLocalFile, readImagePath } from './image-path.ts';
import { announcedSize, downloadTo } from './download.ts';
import { copyImage, imageSize, parseImageManifest, platformManifest, type StoredImage } from './registry/copy-image.ts';
import { isLoopbackRegistry, type ImageName } from './registry/image-name.ts';
import { ImageUpload } from './registry/image-upload.ts';
import { isIndex } from './registry/media-types.ts';
import { RegistryClient, sha256 } from './registry/registry-client.ts';
import { RegistryNotFoundError } from './registry/registry-errors.ts';
import { finishImage, newImageConfig } from './registry/single-image.ts';
import { DATABLOCK_DIR, DATABLOCK_LABEL, emptyDatablockLayer } from './tarball/datablock-layer.ts';
import { importTarball } from './tarball/tarball-import.ts';

const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

/** The image datastore: images in one registry, one repository per OpenNebula image. */
export class ImageStore {
  readonly registry: RegistryClient;

  constructor(readonly config: DatastoreConfig) {
    this.registry = new RegistryClient(config.registry);
  }

  close(): Promise<void> {
    return this.registry.close();
  }

  /** Registers the image at `path` (docker://, a URL or a tarball) as OpenNebula image `imageId`; returns its SOURCE. */
  async register(path: string, imageId: number): Promise<string> {
    const where = readImagePath(path);
    const upload = new ImageUpload(this.registry, imageRepository(imageId));
    let stored: StoredImage;
    if (where.kind === 'registry') {
      stored = await this.withSourceRegistry(where.name, (source) => copyImage(source, where.name, upload, CURRENT_TAG));
    } else {
      stored = await withWorkDir(async (workDir) => {
        let file: string;
        if (where.kind === 'url') {
          file = join(workDir, 'download');
          await downloadTo(where.url, file, DOWNLOAD_TIMEOUT_MS);
        } else {
          file = allowedLocalFile(where.path, this.config.restrictedDirs, this.config.safeDirs);
        }
        return importTarball(file, workDir, upload, CURRENT_TAG);
      });
    }
    return this.source(stored.repository, stored.digest);
  }

  /** The size in MB the image at `path` will take, before it is copied. */
  async sizeMb(path: string): Promise<number> {
    const where = readImagePath(path);
    let bytes: number;
    if (where.kind === 'registry') {
      bytes = await this.withSourceRegistry(where.name, async (source) =>
        imageSize(parseImageManifest(await platformManifest(source, where.name), where.name.repository)),
      );
    } else if (where.kind === 'url') {
      bytes = (await announcedSize(where.url, 60_000)) ?? 0;
    } else {
      bytes = statSync(allowedLocalFile(where.path, this.config.restrictedDirs, this.config.safeDirs)).size;
    }
    return Math.max(1, Math.ceil(bytes / (1024 * 1024)));
  }

  /** A new image `imageId` with the current content of the image at `source`, sharing its blobs. */
  async clone(source: string, imageId: number): Promise<string> {
    const origin = parseSource(source, this.config.registry.address);
    const name: ImageName = { ...origin, digest: await this.currentDigest(source) };
    const stored = await copyImage(this.registry, name, new ImageUpload(this.registry, imageRepository(imageId)), CURRENT_TAG, origin.repository);
    return this.source(stored.repository, stored.digest);
  }

  /** An empty datablock: a one-layer image whose data directory fills the disk's volume on the host. */
  async createDatablock(imageId: number, sizeMb: number, filesystem: string | undefined): Promise<string> {
    const upload = new ImageUpload(this.registry, imageRepository(imageId));
    try {
      const layer = emptyDatablockLayer();
      const layerDigest = sha256(layer.gzipped);
      await upload.ensureBlob(layerDigest, async () => layer.gzipped);
      const labels: Record<string, string> = { 'io.dockvisor.datablock.size-mb': String(sizeMb), [DATABLOCK_LABEL]: `/${DATABLOCK_DIR}` };
      if (filesystem) labels['io.dockvisor.datablock.filesystem'] = filesystem;
      const config = newImageConfig([layer.diffId], { labels, comment: 'dockvisor: empty datablock' });
      const stored = await finishImage(upload, CURRENT_TAG, config, [{ digest: layerDigest, size: layer.gzipped.length }]);
      return this.source(upload.repository, stored.digest);
    } catch (error) {
      await upload.abandon();
      throw error;
    }
  }

  /** Deletes every manifest of the image's repository and its links to blobs. A missing image is already deleted. */
  async remove(source: string): Promise<void> {
    const image = parseSource(source, this.config.registry.address);
    const digests = new Set([image.digest]);
    for (const tag of await this.registry.listTags(image.repository)) {
      const digest = await this.registry.resolveManifest(image.repository, tag);
      if (digest) digests.add(digest);
    }
    const blobs = new Set<string>();
    const present: string[] = [];
    for (const digest of digests) {
      for (const blob of await this.blobsOf(image.repository, digest)) blobs.add(blob);
      if ((await this.registry.resolveManifest(image.repository, digest)) !== undefined) present.push(digest);
    }
    for (const digest of present) await this.registry.deleteManifest(image.repository, digest);
    for (const blob of blobs) await this.registry.deleteBlob(image.repository, blob);
  }

  /**
   * The digest of the image's content now: what a VM saved into it last, else what was registered, as long as
   * the registry still has it. An image whose repository was removed has no content to name.
   */
  async currentDigest(source: string): Promise<string> {
    const image = parseSource(source, this.config.registry.address);
    const digest =
      (await this.registry.resolveManifest(image.repository, CURRENT_TAG)) ?? (await this.registry.resolveManifest(image.repository, image.digest));
    if (!digest)
      throw new RegistryNotFoundError(
        `image ${image.repository} is no longer in ${this.registry.describe()}: it has neither the tag ${CURRENT_TAG} nor its registered ${image.digest}`,
      );
    return digest;
  }

  /** MB used by the images the registry holds: every blob a manifest of any repository refers to, once. */
  async imagesMb(): Promise<number> {
    const sizes = new Map<string, number>();
    for (const repository of await this.registry.catalog()) {
      for (const tag of await this.registry.listTags(repository)) {
        const manifest = await this.registry.getManifest(repository, tag).catch(() => undefined);
        if (!manifest || isIndex(manifest.mediaType)) continue;
        const image = parseImageManifest(manifest, repository);
        for (const blob of [image.config, image.layers].flat()) sizes.set(blob.digest, Number(blob.size) || 0);
      }
    }
    return Math.ceil([...sizes.values()].reduce((a, b) => a + b, 0) / (1024 * 1024));
  }

  source(repository: string, digest: string): string {
    return sourceFor(this.config.registry.address, repository, digest);
  }

  private async blobsOf(repository: string, digest: string): Promise<string[]> {
    const manifest = await this.registry.getManifest(repository, digest).catch(() => undefined);
    if (!manifest || isIndex(manifest.mediaType)) return [];
    const image = parseImageManifest(manifest, repository);
    return [image.config.digest, ...image.layers.map((layer) => layer.digest)];
  }

  /** The registry an image comes from: the datastore's own (with its credentials) or another, anonymously. */
  private async withSourceRegistry<T>(name: ImageName, use: (source: RegistryClient) => Promise<T>): Promise<T> {
    if (name.registry === this.config.registry.address) return use(this.registry);
    const source = new RegistryClient({ address: name.registry, tls: !isLoopbackRegistry(name.registry) });
    try {
      return await use(source);
    } finally {
      await source.close();
    }
  }
}

async function withWorkDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'dockvisor-image-'));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
