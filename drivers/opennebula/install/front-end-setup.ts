import { readFileSync, statSync } from 'node:fs';
import { InvalidInputError } from '../../core/errors.ts';
import { join } from 'node:path';
import { LABEL_ONE_FRONT_END_ID } from '../one-labels.ts';
import { replaceConfigFile } from './config-file-write.ts';
import { giveFrontEndId } from './front-end-id.ts';
import { planConfigFile, type ConfigFilePlan } from './config-files.ts';
import type { ConfigFileRole } from './dockvisor-stanzas.ts';
import { oneVersion, type OneVersion, type VersionSources } from './one-version.ts';
import { compareTree, isSame, ownerOf, pathExists, placeTree, removeSharedFiles, removeTree, type Owner, type TreeDifference } from './remotes-placement.ts';
import { ADMIN_DIRS, DRIVER_DIRS, packageRoot, SHARED_FILES, sharedTrees, wantedTrees, type RemotesTree } from './remotes-trees.ts';
import { unifiedDiff } from './unified-diff.ts';

/** The front-end's files the commands work on. */
export interface FrontEndPaths {
  onedConf: string;
  monitordConf: string;
  remotes: string;
}

export const DEFAULT_PATHS: FrontEndPaths = {
  onedConf: '/etc/one/oned.conf',
  monitordConf: '/etc/one/monitord.conf',
  remotes: '/var/lib/one/remotes',
};

export interface SetupOptions {
  paths: FrontEndPaths;
  dryRun: boolean;
  version: VersionSources;
  say: (line: string) => void;
  /** uninstall: also the admin's configuration under remotes/etc. */
  purge?: boolean;
  /** The dockvisor package whose remotes are placed (default: the one running). */
  packageRoot?: string;
  now?: Date;
  /** install: start (or restart) the connection keeper of the placed remotes (default true). */
  keeper?: boolean;
  /** Whether systemd runs this machine (default: /run/systemd/system exists). */
  systemd?: boolean;
}

const RESTART = 'restart OpenNebula (systemctl restart opennebula) so that oned and monitord read their configuration again';

/**
 * `dockvisor opennebula install`: places the remotes and adds dockvisor's stanzas and driver names to oned.conf
 * and monitord.conf. Everything is read and checked before anything is written; a second run finds nothing to do
 * and says so.
 */
export async function installOnFrontEnd(options: SetupOptions): Promise<void> {
  const { paths, say } = options;
  const version = checkedVersion(options.version);
  checkRemotesDir(paths.remotes);
  const plans = configPlans(paths, 'install');
  const trees = wantedTrees(options.packageRoot ?? packageRoot(), paths.remotes);
  const owner = ownerOf(paths.remotes);
  const changedTrees = trees.map((tree) => ({ tree, difference: compareTree(paths.remotes, tree, owner) })).filter(({ difference }) => !isSame(difference));
  say(`OpenNebula ${version.version} (${version.source})`);
  if (options.dryRun) {
    for (const { tree, difference } of changedTrees)
      say(`would place ${paths.remotes}/${placed(tree)}: ${describe(difference)}${tree.note ? `, ${tree.note}` : ''}`);
    showPlans(plans, say, 'install');
    await keeperStep(options, owner);
    say('dry run: nothing written');
    return;
  }
  for (const { tree, difference } of changedTrees) {
    placeTree(paths.remotes, tree, owner);
    say(
      `${paths.remotes}/${placed(tree)}: ${tree.owner === 'admin' ? "placed once, the admin's from now on" : `placed (${describe(difference)})`}${tree.note ? `, ${tree.note}` : ''}`,
    );
  }
  const identity = giveFrontEndId(join(paths.remotes, 'etc/vmm/dockvisor/dockvisor.conf'));
  if (identity.given) say(`this front-end's containers carry ${LABEL_ONE_FRONT_END_ID}=${identity.id}`);
  const written = writePlans(plans, say, options.now);
  if (changedTrees.length === 0 && written === 0 && !identity.given) say('nothing to change: dockvisor is installed on this front-end');
  else if (written > 0) say(RESTART);
  await keeperStep(options, owner);
}

/** The connection keeper of the remotes now in place, once everything else is. */
async function keeperStep(options: SetupOptions, owner: Owner): Promise<void> {
  if (options.keeper === false) return options.say('connection keeper: not started (--no-keeper)');
  const { startKeeper } = await import('./keeper-service.ts');
  const packageLib = join(options.packageRoot ?? packageRoot(), 'remotes/lib/dockvisor');
  await startKeeper({ remotes: options.paths.remotes, owner, dryRun: options.dryRun, say: options.say, systemd: options.systemd, packageLib });
}

/**
 * `dockvisor opennebula uninstall`: takes out what install added (the stanzas, `dockvisor` in the driver lists,
 * the remotes it placed); the admin's configuration under remotes/etc stays unless `purge`.
 */
export async function uninstallFromFrontEnd(options: SetupOptions): Promise<void> {
  const { paths, say } = options;
  const version = checkedVersion(options.version);
  checkRemotesDir(paths.remotes);
  const plans = configPlans(paths, 'uninstall');
  const dirs = [...DRIVER_DIRS, ...(options.purge ? ADMIN_DIRS : [])].filter((dir) => pathExists(`${paths.remotes}/${dir}`));
  const files = SHARED_FILES.filter((path) => pathExists(`${paths.remotes}/${path}`));
  say(`OpenNebula ${version.version} (${version.source})`);
  const { stopKeeper } = await import('./keeper-service.ts');
  const keeper = { remotes: paths.remotes, owner: ownerOf(paths.remotes), dryRun: options.dryRun, say, systemd: options.systemd };
  if (options.dryRun) {
    showPlans(plans, say, 'uninstall');
    for (const path of [...dirs, ...files]) say(`would remove ${paths.remotes}/${path}`);
    await stopKeeper(keeper);
    say('dry run: nothing written');
    return;
  }
  // Stopped while its remotes are still there to say on which socket it listens.
  await stopKeeper(keeper);
  const written = writePlans(plans, say, options.now);
  for (const dir of dirs) if (removeTree(paths.remotes, dir)) say(`${paths.remotes}/${dir}: removed`);
  for (const tree of sharedTrees(options.packageRoot ?? packageRoot()))
    for (const path of removeSharedFiles(paths.remotes, tree)) say(`${paths.remotes}/${tree.dir}/${path}: removed`);
  if (!options.purge)
    for (const dir of ADMIN_DIRS) if (pathExists(`${paths.remotes}/${dir}`)) say(`${paths.remotes}/${dir}: kept (the admin's; --purge removes it)`);
  if (dirs.length + files.length === 0 && written === 0) say('nothing to change: dockvisor is not installed on this front-end');
  else if (written > 0) say(RESTART);
}

function checkedVersion(sources: VersionSources): OneVersion {
  try {
    return oneVersion(sources);
  } catch (error) {
    throw new InvalidInputError(`${(error as Error).message}; nothing written`);
  }
}

function checkRemotesDir(remotes: string): void {
  let directory = false;
  try {
    directory = statSync(remotes).isDirectory();
  } catch {
    // said below
  }
  if (!directory) throw new InvalidInputError(`${remotes} is not a directory (is OpenNebula installed? --remotes names another); nothing written`);
}

function configPlans(paths: FrontEndPaths, action: 'install' | 'uninstall'): ConfigFilePlan[] {
  const files: [string, ConfigFileRole][] = [
    [paths.onedConf, 'oned.conf'],
    [paths.monitordConf, 'monitord.conf'],
  ];
  return files.map(([path, role]) => planConfigFile(path, role, readConfigText(path), action));
}

function readConfigText(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); nothing written`);
  }
  if (text.includes('\uFFFD')) throw new InvalidInputError(`${path} is not UTF-8 text; nothing written`);
  return text;
}

function showPlans(plans: ConfigFilePlan[], say: (line: string) => void, action: string): void {
  for (const plan of plans) {
    if (plan.after === plan.before) {
      say(`${plan.path}: nothing to change`);
      continue;
    }
    say(`${plan.path}: would be changed: ${plan.said.join('; ')}`);
    say(unifiedDiff(plan.before, plan.after, { before: plan.path, after: `${plan.path} (after dockvisor opennebula ${action})` }).trimEnd());
  }
}

/** Writes the files that change, each after its backup; returns how many were written. */
function writePlans(plans: ConfigFilePlan[], say: (line: string) => void, now: Date | undefined): number {
  let written = 0;
  for (const plan of plans) {
    if (plan.after === plan.before) continue;
    const backup = replaceConfigFile(plan.path, plan.after, now);
    say(`${plan.path}: ${plan.said.join('; ')} (the file as it was: ${backup})`);
    written += 1;
  }
  return written;
}

/** What a line about a placed tree names: the directory, or in a shared one dockvisor's files alone. */
function placed(tree: RemotesTree): string {
  return tree.owner === 'shared' ? [...tree.files.keys()].map((path) => `${tree.dir}/${path}`).join(', ') : tree.dir;
}

function describe(difference: TreeDifference): string {
  const parts = [
    difference.added.length ? `${difference.added.length} new` : '',
    difference.changed.length ? `${difference.changed.length} changed` : '',
    difference.removed.length ? `${difference.removed.length} gone` : '',
  ].filter(Boolean);
  return `${parts.join(', ')} file${difference.added.length + difference.changed.length + difference.removed.length === 1 ? '' : 's'}`;
}
