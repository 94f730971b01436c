import { HostSetupError } from '../../core/errors.ts';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PACKAGE_LAYOUT } from '../../runtime/package-layout.ts';
import remotesBundles from '../../../packaging/remotes-bundles.json' with { type: 'json' };
import { InvalidInputError } from '../../core/errors.ts';

/** A file as it is to be placed: its bytes and permission bits. */
export interface TreeFile {
  data: Buffer;
  mode: number;
}

/** A directory of the remotes tree that dockvisor places whole, relative to the remotes directory. */
export interface RemotesTree {
  dir: string;
  files: Map<string, TreeFile>;
  /**
   * `driver`: dockvisor's, replaced on every install. `admin`: placed once, then the admin's, never overwritten.
   * `shared`: dockvisor's files in a directory of OpenNebula's, placed and removed one by one, the rest left alone.
   */
  owner: 'driver' | 'admin' | 'shared';
  /** Where part of it came from, when not from the package (the monitoring client). */
  note?: string;
}

export const CLIENT_DIR = 'im/dockvisor.d';
export const DRIVER_DIRS = [
  'vmm/dockvisor',
  'tm/dockvisor',
  'datastore/dockvisor',
  CLIENT_DIR,
  'im/dockvisor-probes.d',
  'lib/dockvisor',
  'lib/dockvisor-launch',
];
export const ADMIN_DIRS = ['etc/vmm/dockvisor', 'etc/tm/dockvisor'];
/**
 * dockvisor's NIC class for OpenNebula's network drivers, which load every file of vnmmad-load.d (other
 * add-ons' too): the directory stays OpenNebula's, only the file is dockvisor's.
 */
export const SHARED_FILES = ['vnm/vnmmad-load.d/dockvisor.rb'];

/** The monitoring client: OpenNebula's own files, which dockvisor.d links to in the package. */
export const MONITORING_CLIENT = ['monitord-client.rb', 'monitord-client_control.sh'];
/** Where a front-end keeps them: a packaged one has real copies in kvm.d and lxc.d and no common.d. */
const MONITORING_CLIENT_DIRS = ['im/kvm.d', 'im/lxc.d', 'im/common.d'];
const BUNDLES = remotesBundles.map((name) => `${name}.mjs`);
/** The installed package's CLI bundle, from the directory holding its remotes/ (/usr/lib/dockvisor): cli/cli.mjs. */
const INSTALLED_CLI = join(relative(dirname(PACKAGE_LAYOUT.remotes), PACKAGE_LAYOUT.cli), 'cli.mjs');

/** The dockvisor checkout or installed package this code runs from: the directory holding remotes/vmm/dockvisor. */
export function packageRoot(from = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    // A checkout has package.json beside remotes/; the installed package (/usr/lib/dockvisor) has the CLI bundle.
    const remotesHere = existsSync(join(dir, 'remotes/vmm/dockvisor/deploy'));
    if (remotesHere && (isDockvisorPackage(join(dir, 'package.json')) || existsSync(join(dir, INSTALLED_CLI)))) return dir;
    if (dirname(dir) === dir) throw new HostSetupError(`cannot find the dockvisor package around ${from}`);
  }
}

function isDockvisorPackage(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'dockvisor';
  } catch {
    return false;
  }
}

/**
 * Everything the installer places into the front-end's remotes directory. The monitoring client is copied as real
 * files from what the front-end has (OpenNebula copies the remotes to hosts with links followed, so a link with
 * nothing behind it fails that copy); a front-end without it is refused.
 */
export function wantedTrees(root: string, remotes: string): RemotesTree[] {
  const bundles = join(root, 'remotes/lib/dockvisor');
  const missing = BUNDLES.filter((name) => !existsSync(join(bundles, name)));
  if (missing.length) throw new InvalidInputError(`the driver bundles are not built in ${bundles} (missing ${missing.join(', ')}): run npm run build there`);
  return [
    ...DRIVER_DIRS.map((dir) => (dir === CLIENT_DIR ? clientTree(root, remotes) : packageTree(root, dir))),
    ...ADMIN_DIRS.map((dir) => ({ ...packageTree(root, dir), owner: 'admin' as const })),
    ...sharedTrees(root),
  ];
}

/** The shared files by directory, as the package has them. */
export function sharedTrees(root: string): RemotesTree[] {
  const trees = new Map<string, RemotesTree>();
  for (const path of SHARED_FILES) {
    const dir = dirname(path);
    const tree = trees.get(dir) ?? { dir, files: new Map<string, TreeFile>(), owner: 'shared' as const };
    tree.files.set(path.slice(dir.length + 1), readFile(join(root, 'remotes', path)));
    trees.set(dir, tree);
  }
  return [...trees.values()];
}

/** A driver directory as the package has it, links followed. */
export function packageTree(root: string, dir: string): RemotesTree {
  return { dir, files: readTree(join(root, 'remotes', dir)), owner: 'driver' };
}

/** im/dockvisor.d: the package's links to OpenNebula's monitoring client replaced by the front-end's own files. */
export function clientTree(root: string, remotes: string): RemotesTree {
  const client = monitoringClientDir(remotes);
  const files = new Map<string, TreeFile>();
  for (const name of readdirSync(join(root, 'remotes', CLIENT_DIR)).sort()) {
    const packaged = join(root, 'remotes', CLIENT_DIR, name);
    const linked = lstatSync(packaged).isSymbolicLink() && readlinkSync(packaged).startsWith('../common.d/');
    files.set(name, readFile(linked ? join(remotes, client, name) : packaged));
  }
  return { dir: CLIENT_DIR, files, owner: 'driver', note: `monitoring client from ${client}` };
}

/** The first of kvm.d, lxc.d, common.d that holds both client files as files (links followed). */
export function monitoringClientDir(remotes: string): string {
  const found = MONITORING_CLIENT_DIRS.find((dir) => MONITORING_CLIENT.every((name) => isFile(join(remotes, dir, name))));
  if (found) return found;
  throw new InvalidInputError(
    `no OpenNebula monitoring client under ${remotes}: none of ${MONITORING_CLIENT_DIRS.join(', ')} holds ${MONITORING_CLIENT.join(' and ')} (is OpenNebula installed there?); nothing written`,
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Every file under `dir`, links followed, by path relative to it. */
export function readTree(dir: string): Map<string, TreeFile> {
  const files = new Map<string, TreeFile>();
  const walk = (relative: string) => {
    for (const name of readdirSync(join(dir, relative)).sort()) {
      const path = join(relative, name);
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else files.set(path, readFile(join(dir, path)));
    }
  };
  walk('');
  return files;
}

function readFile(path: string): TreeFile {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    throw new InvalidInputError(`${path} is a link to nothing`);
  }
  return { data: readFileSync(path), mode };
}
