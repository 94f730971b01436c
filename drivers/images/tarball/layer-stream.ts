import { createHash } from 'node:crypto';
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';

export interface LayerStream {
  /** The gzip-compressed layer, to upload. */
  compressed: Readable;
  /** sha256 of the uncompressed tar (the config's diff_id), known once `compressed` has ended. */
  diffId(): string;
}

/** A tar (plain or gzip) stored at `start`..`start+size` of a file, as a gzip layer stream with its diff_id. */
export function layerFromFile(path: string, start: number, size: number): LayerStream {
  const source = createReadStream(path, { start, end: start + size - 1 });
  return layerFromTar(source, isGzipAt(path, start));
}

export function layerFromTar(source: Readable, gzipped: boolean): LayerStream {
  const hash = createHash('sha256');
  const tap = new PassThrough();
  tap.on('data', (chunk: Buffer) => hash.update(chunk));
  const gzip = createGzip({ level: 6 });
  const stages: NodeJS.ReadWriteStream[] = gzipped ? [createGunzip(), tap, gzip] : [tap, gzip];
  const compressed = pipeline(source, ...(stages as [NodeJS.ReadWriteStream]), () => undefined) as unknown as Readable;
  let digest: string | undefined;
  return {
    compressed,
    diffId: () => (digest ??= `sha256:${hash.digest('hex')}`),
  };
}

export function isGzipAt(path: string, offset: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const read = readSync(fd, magic, 0, 2, offset);
    return read === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}
