import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

/** Where a datablock image keeps its files: they fill the volume the disk becomes on a host. */
export const DATABLOCK_DIR = 'data';

/** A layer holding only the empty datablock directory: the content of a new, empty disk. */
export function emptyDatablockLayer(): { gzipped: Buffer; diffId: string } {
  const header = Buffer.alloc(512);
  header.write(`${DATABLOCK_DIR}/`, 0, 'utf8');
  header.write('0000755\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write('00000000000\0', 124, 'latin1');
  header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write('5', 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const tar = Buffer.concat([header, Buffer.alloc(1024)]);
  return { gzipped: gzipSync(tar), diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}
