import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError } from '../core/errors.ts';
import type { HostServices } from '../core/host-services.ts';
import { listTarEntries } from '../images/tarball/tar-entries.ts';
import { entry, readBytes } from '../images/tarball/tarball-import.ts';

const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;
const SPOOL_MARGIN_BYTES = 1024 * 2 ** 20;

/**
 * Loads a `docker save` archive (a Glance image's data) into the host's engine; returns the loaded image id. The
 * archive is kept in a temporary file and checked first: one image, and no tags, since the engine would move any
 * tag it names (`debian:12`) to the loaded image; `expectedId`, when given, must be that image's id. An archive
 * larger than the spool's free space (less 1 GiB) is refused as it arrives.
 */
export async function loadImageArchive(host: HostServices, archive: NodeJS.ReadableStream, expectedId: string | undefined, timeoutMs: number): Promise<string> {
  if (expectedId !== undefined && !IMAGE_ID.test(expectedId))
    throw new InvalidInputError(`expected image id "${expectedId.slice(0, 80)}" is not sha256:<64 hex>`);
  const dir = mkdtempSync(join(tmpdir(), 'dockvisor-image-'));
  try {
    const file = join(dir, 'image.tar');
    await pipeline(archive, boundedBy(spoolRoom(dir)), createWriteStream(file));
    const imageId = savedImageId(file);
    if (expectedId !== undefined && imageId !== expectedId)
      throw new InvalidInputError(`the image archive holds image ${imageId}, not the expected ${expectedId}; refused`);
    const loaded = await host.vms.loadImageArchive(createReadStream(file), timeoutMs);
    if (!loaded.includes(`Loaded image ID: ${imageId}`))
      throw new InvalidInputError(`the engine loaded ${loaded.join(', ') || 'nothing'} from the archive, not image ${imageId}`);
    return imageId;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the archive may take of the spool's filesystem: all of its free space but a margin for everything else. */
function spoolRoom(dir: string): number {
  const { bavail, bsize } = statfsSync(dir);
  return Math.max(0, bavail * bsize - SPOOL_MARGIN_BYTES);
}

/** Passes `limit` bytes through; one more fails the copy, before the disk fills up. */
export function boundedBy(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit)
        return done(
          new InvalidInputError(`the image archive is larger than the ${Math.floor(limit / 2 ** 20)} MiB free for it on the service's disk; refused`),
        );
      done(null, chunk);
    },
  });
}

/** The id of the one untagged image a `docker save` archive holds: the sha256 of its config. */
function savedImageId(file: string): string {
  const byName = new Map(listTarEntries(file, 'the image archive').map((item) => [item.name, item]));
  if (!byName.has('manifest.json')) throw new InvalidInputError('the image archive is not `docker save` output (it has no manifest.json)');
  let manifests: unknown;
  try {
    manifests = JSON.parse(readBytes(file, entry(byName, 'manifest.json')).toString('utf8'));
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('manifest.json in the image archive is not JSON');
  }
  if (!Array.isArray(manifests) || manifests.length !== 1) throw new InvalidInputError('the image archive must hold exactly one image');
  const image = manifests[0] as { Config?: unknown; RepoTags?: unknown };
  if (typeof image.Config !== 'string') throw new InvalidInputError('the image archive names no image config in its manifest.json');
  if ((Array.isArray(image.RepoTags) && image.RepoTags.length) || byName.has('repositories'))
    throw new InvalidInputError('the image archive names image tags, which loading would move on the host; save the image by id');
  const imageId = `sha256:${createHash('sha256')
    .update(readBytes(file, entry(byName, image.Config)))
    .digest('hex')}`;
  if (byName.has('index.json')) checkOciIndex(file, byName, imageId);
  return imageId;
}

const NAME_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];

/**
 * The OCI index newer engines also write (and an engine with the containerd image store loads from): it must name
 * no image either, and lead to the same image manifest.json describes, not another one.
 */
function checkOciIndex(file: string, byName: Map<string, ReturnType<typeof listTarEntries>[number]>, imageId: string): void {
  const json = (name: string): unknown => {
    try {
      return JSON.parse(readBytes(file, entry(byName, name)).toString('utf8'));
    } catch (error) {
      if (error instanceof InvalidInputError) throw error;
      throw new InvalidInputError(`${name} in the image archive is not JSON`);
    }
  };
  const blob = (digest: unknown) => {
    if (typeof digest !== 'string' || !IMAGE_ID.test(digest))
      throw new InvalidInputError('index.json in the image archive names a blob that is not sha256:<64 hex>');
    return `blobs/sha256/${digest.slice('sha256:'.length)}`;
  };
  const index = json('index.json') as { manifests?: Array<{ digest?: unknown; annotations?: Record<string, unknown> }> };
  if (!Array.isArray(index.manifests) || index.manifests.length !== 1)
    throw new InvalidInputError('index.json in the image archive must lead to exactly one image');
  const [descriptor] = index.manifests;
  if (NAME_ANNOTATIONS.some((name) => descriptor!.annotations?.[name] !== undefined))
    throw new InvalidInputError('index.json in the image archive names the image, which loading would tag on the host; save the image by id');
  const manifest = json(blob(descriptor!.digest)) as { config?: { digest?: unknown }; manifests?: unknown };
  if (manifest.config?.digest !== imageId) throw new InvalidInputError(`index.json in the image archive leads to another image than ${imageId}; refused`);
}
