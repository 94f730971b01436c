import {
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `20260131T120501Z`: when a backup was taken, in UTC, sortable. */
export function backupStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/**
 * Replaces a configuration file the way an admin's editor should: first a copy of it as it was
 * (`<file>.dockvisor-<UTC stamp>`), then the new text written whole beside it and renamed over it, with the
 * file's owner and mode. A file that is a symlink is written where the link points. Returns the backup's path.
 */
export function replaceConfigFile(path: string, text: string, now = new Date()): string {
  const target = realpathSync(path);
  const { mode, uid, gid } = statSync(target);
  const backup = freeBackupName(`${path}.dockvisor-${backupStamp(now)}`);
  copyFileSync(target, backup, constants.COPYFILE_EXCL);
  writeWhole(backup, undefined, mode, uid, gid);
  const staging = join(dirname(target), `.${basename(target)}.dockvisor-${process.pid}.tmp`);
  try {
    writeWhole(staging, text, mode, uid, gid);
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { force: true });
    throw error;
  }
  return backup;
}

/** Writes `text` (or only sets mode and owner when it is undefined), then flushes it to disk. */
function writeWhole(path: string, text: string | undefined, mode: number, uid: number, gid: number): void {
  const fd = openSync(path, text === undefined ? 'r+' : 'w', mode & 0o7777);
  try {
    if (text !== undefined) writeSync(fd, text);
    fchmodSync(fd, mode & 0o7777);
    if (process.getuid?.() === 0) fchownSync(fd, uid, gid);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Two runs within one second do not overwrite the first one's backup. */
function freeBackupName(wanted: string): string {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? wanted : `${wanted}-${n}`;
    try {
      statSync(candidate);
    } catch {
      return candidate;
    }
  }
}
