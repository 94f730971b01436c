import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { HostSetupError } from './errors.ts';
import type { HostSettings } from './host-settings.ts';

const STICKY = 0o1000;
const SHARED_MODE = 0o1777;
const OWN_MODE = 0o700;

/**
 * `stateDir` (default /var/tmp/dockvisor) is shared by every user dockvisor runs as on a host: oneadmin's
 * probes and actions, root's demo and tests. Each user keeps its state in a directory of its own inside it,
 * `<stateDir>/<uid>`, so that whoever made the shared directory first, the others can still write there.
 * This is the path alone, for what must name it without touching the disk (a container's bind source).
 */
export function userStateDir(config: Pick<HostSettings, 'stateDir'>): string {
  return posix.join(config.stateDir, String(currentUid()));
}

/**
 * The user's state directory, made when missing and checked before anything is written in it. The shared
 * directory is made like /tmp (root's, 1777: anyone adds a directory, nobody removes another's) and root takes
 * over one a non-root user made first. Nothing is followed that another user could have planted: each
 * directory is opened without following a link, and must belong to root or to the user (the shared one) or
 * to the user alone (its own). Once checked, nobody else can rename either, so later paths below it are safe.
 */
export function prepareUserStateDir(config: Pick<HostSettings, 'stateDir'>): string {
  const uid = currentUid();
  const shared = config.stateDir;
  mkdirSync(dirname(shared), { recursive: true });
  const createdShared = makeDirectory(shared, SHARED_MODE);
  const sharedFd = closedToUs(shared, uid, () => openDirectory(shared));
  try {
    claimShared(sharedFd, shared, uid, createdShared);
    const own = posix.join(shared, String(uid));
    // Made and opened through the shared directory's handle: the checked directory, whatever its path names now.
    const ownThroughHandle = `/proc/self/fd/${sharedFd}/${uid}`;
    closedToUs(shared, uid, () => makeDirectory(ownThroughHandle, OWN_MODE));
    const ownFd = openDirectory(ownThroughHandle, own);
    try {
      const stat = fstatSync(ownFd);
      if (stat.uid !== uid) throw new HostSetupError(`state directory ${own} belongs to uid ${stat.uid}, not to uid ${uid}; refused (remove it)`);
      if ((stat.mode & 0o7777) !== OWN_MODE) fchmodSync(ownFd, OWN_MODE);
    } finally {
      closeSync(ownFd);
    }
    return own;
  } finally {
    closeSync(sharedFd);
  }
}

function claimShared(fd: number, path: string, uid: number, created: boolean): void {
  const stat = fstatSync(fd);
  const mode = stat.mode & 0o7777;
  const othersMayWrite = (mode & 0o022) !== 0;
  if (uid === 0) {
    if (stat.uid !== 0) fchownSync(fd, 0, 0);
    if (mode !== SHARED_MODE) fchmodSync(fd, SHARED_MODE);
  } else if (stat.uid === uid) {
    if (created) fchmodSync(fd, SHARED_MODE);
    else if (othersMayWrite && !(mode & STICKY)) fchmodSync(fd, mode | STICKY);
  } else if (stat.uid !== 0) {
    throw new HostSetupError(
      `state directory ${path} belongs to uid ${stat.uid}, which could replace what uid ${uid} keeps there; refused (remove it, or set stateDir)`,
    );
  } else if (othersMayWrite && !(mode & STICKY)) {
    throw new HostSetupError(`state directory ${path} is writable by others without the sticky bit; refused (chmod 1777 ${path})`);
  }
}

/** What an earlier dockvisor left behind: a shared directory root made for itself alone. */
function closedToUs<T>(shared: string, uid: number, use: () => T): T {
  try {
    return use();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    throw new HostSetupError(`state directory ${shared} is closed to uid ${uid}: make it 1777 (chmod 1777 ${shared}), or run any dockvisor probe as root once`);
  }
}

/** True when this call made it; an existing one is checked by whoever opens it. */
function makeDirectory(path: string, mode: number): boolean {
  try {
    mkdirSync(path, { mode });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function openDirectory(path: string, shownAs = path): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ELOOP' && code !== 'ENOTDIR') throw error;
    // O_DIRECTORY answers ENOTDIR for a link as for a file: which one it was is worth saying.
    if (lstatSync(path).isSymbolicLink())
      throw new HostSetupError(`state directory ${shownAs} is a symbolic link; refused (remove it, or set stateDir to a real directory)`);
    throw new HostSetupError(`state directory ${shownAs} is not a directory; refused`);
  }
}

function currentUid(): number {
  return process.getuid?.() ?? 0;
}
