import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import { InvalidInputError } from '../../core/errors.ts';
import { printable } from '../../core/validate.ts';

export interface TarEntry {
  /** Normalized: no leading "./" or "/", never ".." (those tarballs are refused). */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  size: number;
  /** Where the entry's content starts in the file. */
  offset: number;
}

const BLOCK = 512;

/**
 * Lists a plain (uncompressed) tar archive, or a tar stored inside another file at `start`..`start+length`.
 * Refuses archives that are cut short or whose names leave the archive's root.
 */
export function listTarEntries(path: string, what: string, start = 0, length?: number): TarEntry[] {
  const fd = openSync(path, 'r');
  try {
    const end = start + (length ?? fstatSync(fd).size - start);
    const entries: TarEntry[] = [];
    const header = Buffer.alloc(BLOCK);
    let position = start;
    let longName: string | undefined;
    let paxName: string | undefined;
    let paxLink: string | undefined;
    for (;;) {
      if (position + BLOCK > end) throw new InvalidInputError(`${what} is truncated (it ends before the end-of-archive marker)`);
      readSync(fd, header, 0, BLOCK, position);
      if (header.every((byte) => byte === 0)) return entries;
      if (!checksumMatches(header)) throw new InvalidInputError(`${what} is not a tar archive (bad header at byte ${position - start})`);
      const size = octal(header.subarray(124, 136));
      const typeflag = String.fromCharCode(header[156]!);
      const dataOffset = position + BLOCK;
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
      if (dataOffset + size > end) throw new InvalidInputError(`${what} is truncated (entry data runs past the end of the file)`);
      position = next;
      if (typeflag === 'L') {
        longName = readText(fd, dataOffset, size).replace(/\0.*$/s, '');
        continue;
      }
      if (typeflag === 'x') {
        const pax = parsePax(readText(fd, dataOffset, size));
        paxName = pax.path;
        paxLink = pax.linkpath;
        continue;
      }
      if (typeflag === 'g' || typeflag === 'K') continue;
      const ustarName = cString(header.subarray(0, 100));
      const prefix = header.subarray(257, 263).toString('latin1').startsWith('ustar') ? cString(header.subarray(345, 500)) : '';
      const rawName = paxName ?? longName ?? (prefix ? `${prefix}/${ustarName}` : ustarName);
      const linkName = paxLink ?? cString(header.subarray(157, 257));
      longName = paxName = paxLink = undefined;
      const type = entryType(typeflag);
      const name = safeName(rawName, what);
      if (type === 'hardlink') safeName(linkName, `${what} (hard link target)`);
      if (name) entries.push({ name, type, size: type === 'file' ? size : 0, offset: dataOffset });
    }
  } finally {
    closeSync(fd);
  }
}

/** The entry's name without "./", refusing absolute paths and "..". An empty name is the root itself. */
function safeName(raw: string, what: string): string {
  if (raw.includes('\0')) throw new InvalidInputError(`${what} has an entry name with a NUL byte`);
  const trimmed = raw.replace(/^(\.\/)+/, '');
  if (trimmed.startsWith('/') || trimmed.split('/').includes('..')) {
    throw new InvalidInputError(`${what} has an entry that leaves the archive's root ("${printable(raw)}"); refused`);
  }
  const normalized = posix.normalize(trimmed || '.').replace(/\/$/, '');
  return normalized === '.' ? '' : normalized;
}

function entryType(flag: string): TarEntry['type'] {
  if (flag === '0' || flag === '\0' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}

function checksumMatches(header: Buffer): boolean {
  const stored = octal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === stored;
}

function octal(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

function cString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function readText(fd: number, offset: number, size: number): string {
  if (size > 1024 * 1024) throw new InvalidInputError('a tar extended header is larger than 1 MB; refused');
  const buffer = Buffer.alloc(size);
  readSync(fd, buffer, 0, size, offset);
  return buffer.toString('utf8');
}

function parsePax(text: string): { path?: string; linkpath?: string } {
  const result: { path?: string; linkpath?: string } = {};
  let rest = text;
  while (rest.length) {
    const space = rest.indexOf(' ');
    const length = Number(rest.slice(0, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = rest.slice(space + 1, length - 1);
    rest = rest.slice(length);
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    if (key === 'path') result.path = record.slice(eq + 1);
    if (key === 'linkpath') result.linkpath = record.slice(eq + 1);
  }
  return result;
}
