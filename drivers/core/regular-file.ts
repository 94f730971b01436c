import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { InvalidInputError } from './errors.ts';
import { printable } from './validate.ts';

/** What a path is, in the words an error message needs: 'file' for a regular file. */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a fifo';
  if (stats.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * The content of a regular file of at most `limit` bytes; anything else is refused with one line naming
 * `what` and the path. Never reads more than `limit` + 1 bytes, whatever the file does meanwhile.
 */
export async function readSmallFile(path: string, limit: number, what: string): Promise<Buffer> {
  const refuse = (reason: string) => new InvalidInputError(`${what} ${printable(path)} ${reason}`);
  const checkKind = (stats: Stats) => {
    const kind = fileKind(stats);
    if (kind !== 'file') throw refuse(`is not a file but ${kind}`);
    if (stats.size > limit) throw refuse(`is larger than ${sizeText(limit)}`);
  };
  // Checked before opening, as opening a device can act on it; and again on what was opened, which may differ.
  const unreadable = (error: NodeJS.ErrnoException) => {
    throw refuse(error.code === 'ENOENT' ? 'does not exist' : `cannot be read (${error.code ?? error.message})`);
  };
  checkKind(await stat(path).catch(unreadable));
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(unreadable);
  try {
    checkKind(await handle.stat());
    const buffer = Buffer.alloc(limit + 1);
    let size = 0;
    while (size < buffer.length) {
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    if (size > limit) throw refuse(`is larger than ${sizeText(limit)}`);
    return buffer.subarray(0, size);
  } finally {
    await handle.close();
  }
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
