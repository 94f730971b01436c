import type { Readable } from 'node:stream';
import type { RegistryClient } from './registry-client.ts';

/**
 * An image being written into one repository of the datastore registry. It remembers the blobs it added so
 * that a failed import leaves nothing behind: `abandon` deletes them again.
 */
export class ImageUpload {
  private readonly added: string[] = [];

  constructor(
    readonly registry: RegistryClient,
    readonly repository: string,
  ) {}

  /** Makes sure the repository has the blob: already there, mounted from another repository, or uploaded. */
  async ensureBlob(digest: string, open: () => Promise<Buffer | Readable>, mountFrom?: string): Promise<void> {
    if ((await this.registry.blobSize(this.repository, digest)) !== undefined) return;
    if (mountFrom && (await this.registry.mountBlob(this.repository, digest, mountFrom))) {
      this.added.push(digest);
      return;
    }
    await this.registry.uploadBlob(this.repository, digest, await open());
    this.added.push(digest);
  }

  /** Uploads content whose digest is only known once it has all flowed (a layer compressed on the fly). */
  async streamBlob(content: Readable): Promise<{ digest: string; size: number }> {
    const blob = await this.registry.uploadStream(this.repository, content);
    this.added.push(blob.digest);
    return blob;
  }

  /** Stores the manifest under `tag`; the image exists from here on. Returns its digest. */
  async finish(tag: string, mediaType: string, manifest: Buffer): Promise<string> {
    const digest = await this.registry.putManifest(this.repository, tag, mediaType, manifest);
    this.added.length = 0;
    return digest;
  }

  async abandon(): Promise<void> {
    for (const digest of this.added.splice(0)) await this.registry.deleteBlob(this.repository, digest).catch(() => undefined);
  }
}
