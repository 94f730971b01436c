import { closeSync, createReadStream, createWriteStream, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidInputError } from '../../core/errors.ts';
import type { StoredImage } from '../registry/copy-image.ts';
import type { ImageUpload } from '../registry/image-upload.ts';
import { isImageManifest, isIndex, type ImageManifest, type ManifestIndex } from '../registry/media-types.ts';
import { sha256 } from '../registry/registry-client.ts';
import { engineArchitecture, finishImage, newImageConfig, type PushedLayer } from '../registry/single-image.ts';
import { isGzipAt, layerFromFile } from './layer-stream.ts';
import { listTarEntries, type TarEntry } from './tar-entries.ts';

/**
 * Stores a tarball as an image: `docker save` output, an OCI image layout, or a plain root filesystem
 * (which becomes a one-layer image). Everything is checked before the manifest is written; a failure
 * removes the blobs already uploaded.
 */
export async function importTarball(path: string, workDir: string, upload: ImageUpload, tag: string): Promise<StoredImage> {
  const tar = await plainTar(path, workDir);
  const entries = listTarEntries(tar, 'the tarball');
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  try {
    if (byName.has('oci-layout') && byName.has('index.json')) return await importOciLayout(tar, byName, upload, tag);
    if (byName.has('manifest.json')) return await importDockerSave(tar, byName, upload, tag);
    return await importRootFilesystem(tar, entries, upload, tag);
  } catch (error) {
    await upload.abandon();
    throw error;
  }
}

/** The uncompressed tar: the file itself, or its gunzipped copy in `workDir`. */
async function plainTar(path: string, workDir: string): Promise<string> {
  if (!isGzipAt(path, 0)) return path;
  const target = join(workDir, 'image.tar');
  try {
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(target));
  } catch (error) {
    throw new InvalidInputError(`the tarball is not a readable gzip file (truncated or corrupt): ${(error as Error).message}`);
  }
  return target;
}

async function importRootFilesystem(tar: string, entries: TarEntry[], upload: ImageUpload, tag: string): Promise<StoredImage> {
  if (!entries.length) throw new InvalidInputError('the tarball is empty');
  const layer = await pushLayer(tar, 0, statSync(tar).size, upload);
  const hasShell = entries.some((entry) => entry.name === 'bin/sh');
  const config = newImageConfig([layer.diffId], { cmd: hasShell ? ['/bin/sh'] : undefined, comment: 'dockvisor: imported root filesystem tarball' });
  const stored = await finishImage(upload, tag, config, [layer]);
  return { repository: upload.repository, ...stored };
}

async function importDockerSave(tar: string, byName: Map<string, TarEntry>, upload: ImageUpload, tag: string): Promise<StoredImage> {
  const manifests = readJson<{ Config?: string; Layers?: string[] }[]>(tar, entry(byName, 'manifest.json'), 'manifest.json');
  const image = Array.isArray(manifests) ? manifests[0] : undefined;
  if (!image?.Config || !Array.isArray(image.Layers)) throw new InvalidInputError('the docker save tarball has no image in its manifest.json');
  if (manifests.length > 1) throw new InvalidInputError('the docker save tarball holds several images; save one image per tarball');
  const config = readBytes(tar, entry(byName, image.Config));
  const diffIds = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
  if (diffIds.length !== image.Layers.length) throw new InvalidInputError('the docker save tarball lists a different number of layers than its image config');
  const layers: PushedLayer[] = [];
  for (const [index, name] of image.Layers.entries()) {
    const layerEntry = entry(byName, name);
    if (!isGzipAt(tar, layerEntry.offset)) listTarEntries(tar, `layer ${index + 1} of the tarball`, layerEntry.offset, layerEntry.size);
    const layer = await pushLayer(tar, layerEntry.offset, layerEntry.size, upload);
    if (layer.diffId !== diffIds[index])
      throw new InvalidInputError(`layer ${index + 1} of the tarball does not match its image config (content ${layer.diffId}); refused`);
    layers.push(layer);
  }
  const stored = await finishImage(upload, tag, config, layers);
  return { repository: upload.repository, ...stored };
}

/** An OCI layout is already content-addressed: its blobs go up as they are, and the registry checks each digest. */
async function importOciLayout(tar: string, byName: Map<string, TarEntry>, upload: ImageUpload, tag: string): Promise<StoredImage> {
  const index = readJson<ManifestIndex>(tar, entry(byName, 'index.json'), 'index.json');
  let descriptor = pickManifest(index);
  let manifestBytes = blob(tar, byName, descriptor.digest);
  let mediaType = descriptor.mediaType;
  if (isIndex(mediaType)) {
    descriptor = pickManifest(JSON.parse(manifestBytes.toString('utf8')) as ManifestIndex);
    manifestBytes = blob(tar, byName, descriptor.digest);
    mediaType = descriptor.mediaType;
  }
  if (!isImageManifest(mediaType)) throw new InvalidInputError(`the OCI layout's image manifest has an unsupported type ${mediaType}`);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  for (const item of [manifest.config, ...manifest.layers]) {
    const itemEntry = blobEntry(byName, item.digest);
    await upload.ensureBlob(item.digest, async () => createReadStream(tar, { start: itemEntry.offset, end: itemEntry.offset + itemEntry.size - 1 }));
  }
  const digest = await upload.finish(tag, mediaType, manifestBytes);
  const sizeBytes = [manifest.config, ...manifest.layers].reduce((sum, item) => sum + (Number(item.size) || 0), 0);
  return { repository: upload.repository, digest, sizeBytes };
}

async function pushLayer(path: string, offset: number, size: number, upload: ImageUpload): Promise<PushedLayer & { diffId: string }> {
  const stream = layerFromFile(path, offset, size);
  try {
    const stored = await upload.streamBlob(stream.compressed);
    return { ...stored, diffId: stream.diffId() };
  } catch (error) {
    const reason = (error as Error).message;
    if (/unexpected end|incorrect header|invalid/i.test(reason)) throw new InvalidInputError(`a layer of the tarball is not readable: ${reason}`);
    throw error;
  }
}

function pickManifest(index: ManifestIndex): ManifestIndex['manifests'][number] {
  const manifests = Array.isArray(index?.manifests) ? index.manifests : [];
  const chosen = manifests.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === engineArchitecture())) ?? manifests[0];
  if (!chosen || typeof chosen.digest !== 'string') throw new InvalidInputError('the OCI layout names no image manifest');
  return chosen;
}

function blobEntry(byName: Map<string, TarEntry>, digest: string): TarEntry {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new InvalidInputError('the OCI layout names a blob that is not a sha256 digest');
  return entry(byName, `blobs/sha256/${digest.slice(7)}`);
}

function blob(tar: string, byName: Map<string, TarEntry>, digest: string): Buffer {
  const bytes = readBytes(tar, blobEntry(byName, digest));
  if (sha256(bytes) !== digest) throw new InvalidInputError(`the OCI layout's blob ${digest} has other content than its name says`);
  return bytes;
}

/** The regular file `name` of a listed tarball; one it names but lacks is refused. */
export function entry(byName: Map<string, TarEntry>, name: string): TarEntry {
  const found = byName.get(name.replace(/^(\.\/)+/, ''));
  if (!found || found.type !== 'file') throw new InvalidInputError(`the tarball names ${name.slice(0, 100)} but does not contain it`);
  return found;
}

/** An entry's content, at most 16 MB (manifests and configs, not layers). */
export function readBytes(tar: string, item: TarEntry): Buffer {
  if (item.size > 16 * 1024 * 1024) throw new InvalidInputError(`${item.name.slice(0, 100)} in the tarball is larger than 16 MB; refused`);
  const fd = openSync(tar, 'r');
  try {
    const bytes = Buffer.alloc(item.size);
    readSync(fd, bytes, 0, item.size, item.offset);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function readJson<T>(tar: string, item: TarEntry, what: string): T {
  try {
    return JSON.parse(readBytes(tar, item).toString('utf8')) as T;
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(`${what} in the tarball is not JSON`);
  }
}
