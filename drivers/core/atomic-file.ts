import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Writes `text` whole to a staging file and renames it into place: a crash never leaves half a file. */
export function writeFileAtomically(path: string, text: string, mode = 0o644): void {
  const staging = `${path}.${process.pid}.tmp`;
  const fd = openSync(staging, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(staging, path);
}
