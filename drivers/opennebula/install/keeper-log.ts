import { closeSync, constants, fchownSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** How much of the log's end is read back to tell why a keeper did not start. */
const TAIL_BYTES = 4096;

/**
 * The keeper's log beside its socket, opened for the keeper's output in a directory its user owns. The user may
 * have put anything at that name: a symlink is not followed (O_NOFOLLOW), and what was opened is checked on the
 * descriptor itself (a hard link to another file, which O_NOFOLLOW does not stop, has more than one link), so that
 * neither root's chown nor its writes reach a file the user could not write. A log root has just made is handed
 * to the user. The reason it is refused, or the open descriptor.
 */
export function openKeeperLog(path: string, user: { uid: number; gid: number }, asRoot: boolean): { fd: number } | { refusal: string } {
  const flags = constants.O_RDWR | constants.O_APPEND | constants.O_NOFOLLOW;
  let fd: number;
  let created = true;
  try {
    try {
      fd = openSync(path, flags | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      created = false;
      fd = openSync(path, flags | constants.O_NONBLOCK);
    }
  } catch (error) {
    return { refusal: `${path}: ${(error as Error).message}` };
  }
  const refusal = unsafeLog(fstatSync(fd), user.uid, asRoot && created);
  if (refusal) {
    closeSync(fd);
    return { refusal: `${path} ${refusal}` };
  }
  if (asRoot && created) fchownSync(fd, user.uid, user.gid);
  return { fd };
}

/** Why the opened file is not a log of the keeper's user to append to; undefined when it is. */
export function unsafeLog(stats: Stats, uid: number, createdByRoot: boolean): string | undefined {
  if (!stats.isFile()) return 'is not a regular file';
  if (stats.nlink !== 1) return `has ${stats.nlink} links (a hard link to another file)`;
  const owner = createdByRoot ? 0 : uid;
  if (stats.uid !== owner) return `belongs to uid ${stats.uid}, not the keeper's user (uid ${uid})`;
  return undefined;
}

/** The log's last line, read through the descriptor it was checked on (never the path again). */
export function lastLogLine(fd: number): string {
  const size = fstatSync(fd).size;
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, size - length);
  return buffer.subarray(0, read).toString('utf8').trimEnd().split('\n').at(-1) ?? '';
}
