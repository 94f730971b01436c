import { InvalidInputError } from './errors.ts';

/**
 * A ustar archive of a few small entries, made in memory: the format the engine's archive upload unpacks (injected
 * guest files, context files) and an image layer holds (an empty datablock directory).
 */

export interface TarFile {
  /** Path inside the archive, relative, with `/` separators. */
  name: string;
  content?: Buffer;
  directory?: boolean;
  /** 0o755 for a directory and 0o644 for a file when not given. */
  mode?: number;
}

const BLOCK = 512;

export function tarArchive(files: TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const file of files) {
    const content = file.directory ? Buffer.alloc(0) : (file.content ?? Buffer.alloc(0));
    const name = file.directory ? `${file.name.replace(/\/$/, '')}/` : file.name;
    blocks.push(header(name, file.mode ?? (file.directory ? 0o755 : 0o644), content.length, mtime, file.directory ? '5' : '0'));
    blocks.push(content);
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

function header(path: string, mode: number, size: number, mtime: number, type: '0' | '5'): Buffer {
  const { name, prefix } = splitPath(path);
  const block = Buffer.alloc(BLOCK);
  const put = (text: string, offset: number, length: number) => block.write(text, offset, length, 'utf8');
  const octal = (value: number, offset: number, length: number) => put(value.toString(8).padStart(length - 1, '0'), offset, length - 1);
  put(name, 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8); // uid root
  octal(0, 116, 8); // gid root
  octal(size, 124, 12);
  octal(mtime, 136, 12);
  block.fill(' ', 148, 156); // the checksum counts its own field as spaces
  put(type, 156, 1);
  put('ustar\u000000', 257, 8);
  put(prefix, 345, 155);
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  put(checksum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8);
  return block;
}

/** ustar keeps up to 100 bytes of name and 155 of directory prefix, split at a `/`. */
function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) {
    const prefix = path.slice(0, at);
    const name = path.slice(at + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new InvalidInputError(`path ${path.slice(0, 60)}... is too long for the archive`);
}
