import {
  type Stats,
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { RemotesTree, TreeFile } from './remotes-trees.ts';

/** Who owns what the installer places: the owner of the remotes directory (oneadmin on a front-end). */
export interface Owner {
  uid: number;
  gid: number;
}

/** How an installed directory differs from what the package would place there. */
export interface TreeDifference {
  added: string[];
  changed: string[];
  removed: string[];
}

export function ownerOf(remotes: string): Owner {
  const { uid, gid } = statSync(remotes);
  return { uid, gid };
}

export function isSame(difference: TreeDifference): boolean {
  return difference.added.length + difference.changed.length + difference.removed.length === 0;
}

/**
 * Compares what is installed with the tree: same files, same bytes, same mode, the same owner (when we can set
 * owners), and nothing else; a link or anything but a regular file counts as changed. For an admin tree only
 * files that are missing count: the admin's changes are theirs.
 */
export function compareTree(remotes: string, tree: RemotesTree, owner: Owner): TreeDifference {
  const root = join(remotes, tree.dir);
  const difference: TreeDifference = { added: [], changed: [], removed: [] };
  if (isLink(root) && tree.owner !== 'shared') return { ...difference, changed: [...tree.files.keys()] };
  const installed = tree.owner === 'shared' ? listFiles(root, [...tree.files.keys()]) : listInstalled(root);
  const canChown = process.getuid?.() === 0;
  for (const [path, wanted] of tree.files) {
    const entry = installed.get(path);
    if (!entry) difference.added.push(path);
    else if (tree.owner !== 'admin') {
      const same =
        entry.isFile() &&
        (entry.mode & 0o7777) === wanted.mode &&
        (!canChown || (entry.uid === owner.uid && entry.gid === owner.gid)) &&
        readFileSync(join(root, path)).equals(wanted.data);
      if (!same) difference.changed.push(path);
    }
  }
  if (tree.owner === 'driver') for (const path of installed.keys()) if (!tree.files.has(path)) difference.removed.push(path);
  return difference;
}

/**
 * Puts a driver tree in place whole: written beside the old one, then swapped in with two renames, so an action
 * or a copy to hosts that runs meanwhile finds the old tree or the new one, never half of each. An admin tree
 * only gets the files it lacks.
 */
export function placeTree(remotes: string, tree: RemotesTree, owner: Owner): void {
  const target = join(remotes, tree.dir);
  makeParents(remotes, dirname(tree.dir), owner);
  if (tree.owner === 'shared') {
    makeParents(remotes, tree.dir, owner);
    for (const [path, file] of tree.files) placeFile(target, path, file, owner);
    return;
  }
  if (tree.owner === 'admin') {
    makeParents(remotes, tree.dir, owner);
    for (const [path, file] of tree.files) if (!existsSync(join(target, path))) writeTreeFile(target, path, file, owner);
    return;
  }
  const staging = join(dirname(target), `.${tree.dir.split('/').at(-1)}.dockvisor-new-${process.pid}`);
  const retired = join(dirname(target), `.${tree.dir.split('/').at(-1)}.dockvisor-old-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o755 });
  chown(staging, owner);
  for (const [path, file] of tree.files) writeTreeFile(staging, path, file, owner);
  const had = existsSync(target) || isLink(target);
  if (had) renameSync(target, retired);
  renameSync(staging, target);
  if (had) rmSync(retired, { recursive: true, force: true });
}

export function removeTree(remotes: string, dir: string): boolean {
  const target = join(remotes, dir);
  if (!existsSync(target) && !isLink(target)) return false;
  rmSync(target, { recursive: true, force: true });
  return true;
}

/** Removes dockvisor's files from a shared directory, nothing else; returns those that were there. */
export function removeSharedFiles(remotes: string, tree: RemotesTree): string[] {
  const removed: string[] = [];
  for (const path of tree.files.keys()) {
    const full = join(remotes, tree.dir, path);
    if (!pathExists(full)) continue;
    rmSync(full, { force: true });
    removed.push(path);
  }
  return removed;
}

/** One file written beside its old self and renamed over it: a copy to hosts meanwhile finds one or the other. */
function placeFile(root: string, path: string, file: TreeFile, owner: Owner): void {
  const staging = `.${path}.dockvisor-new-${process.pid}`;
  writeTreeFile(root, staging, file, owner);
  renameSync(join(root, staging), join(root, path));
}

function writeTreeFile(root: string, path: string, file: { data: Buffer; mode: number }, owner: Owner): void {
  const parts = path.split('/');
  for (let depth = 1; depth < parts.length; depth++) {
    const dir = join(root, ...parts.slice(0, depth));
    if (!existsSync(dir)) {
      mkdirSync(dir, { mode: 0o755 });
      chown(dir, owner);
    }
  }
  const full = join(root, path);
  writeFileSync(full, file.data, { mode: file.mode });
  chmodSync(full, file.mode);
  chown(full, owner);
}

/** Directories between the remotes directory and `relative`, made when missing and given the owner. */
function makeParents(remotes: string, relative: string, owner: Owner): void {
  let dir = remotes;
  for (const part of relative.split('/').filter((part) => part && part !== '.')) {
    dir = join(dir, part);
    if (!existsSync(dir)) {
      mkdirSync(dir, { mode: 0o755 });
      chown(dir, owner);
    }
  }
}

/** The given files under `root`, as they are (not followed, so that a link counts as changed). */
function listFiles(root: string, paths: string[]): Map<string, Stats> {
  const found = new Map<string, Stats>();
  for (const path of paths) {
    try {
      found.set(path, lstatSync(join(root, path)));
    } catch {
      // not there: added
    }
  }
  return found;
}

function listInstalled(root: string): Map<string, Stats> {
  const found = new Map<string, Stats>();
  if (!existsSync(root)) return found;
  const walk = (relative: string) => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const entry = lstatSync(join(root, path));
      if (entry.isDirectory()) walk(path);
      else found.set(path, entry);
    }
  };
  walk('');
  return found;
}

function chown(path: string, owner: Owner): void {
  if (process.getuid?.() === 0) chownSync(path, owner.uid, owner.gid);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Whether anything is at `path`, a dangling link included. */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
