import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarArchive } from '../../core/tar-archive.ts';

/** Where a datablock image keeps its files: they fill the volume the disk becomes on a host. */
export const DATABLOCK_DIR = 'data';
/** The image label that makes an image a datablock (its value is the directory, `/data`). */
export const DATABLOCK_LABEL = 'io.dockvisor.datablock.dir';

/** A layer holding only the empty datablock directory: the content of a new, empty disk. */
export function emptyDatablockLayer(): { gzipped: Buffer; diffId: string } {
  const tar = tarArchive([{ name: DATABLOCK_DIR, directory: true }]);
  return { gzipped: gzipSync(tar), diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}
