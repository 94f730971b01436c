import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSettingsFile } from '../../core/settings-file.ts';
import { SYSTEM_RUNTIME_DIR } from '../../runtime/runtime.ts';
import { remotesVersion } from '../transfer/remotes-version.ts';
import { TM_CONFIG_FILE, type TmConfig } from '../transfer/tm-config.ts';
import { passwdEntry, type PasswdEntry } from './passwd-entry.ts';
import type { Owner } from './remotes-placement.ts';

/** How the front-end's connection keeper of the installed remotes runs: as whom, with which node, on which socket. */
export interface KeeperPlan {
  /** oned's user: the owner of the remotes directory. */
  user: PasswdEntry;
  node: string;
  /** The installed remotes' tm-keeper.mjs. */
  script: string;
  /** The installed remotes' VERSION, which the keeper serves. */
  version: string;
  socket: string;
}

/** Why no keeper is to run for these remotes, when none is. */
export interface NoKeeper {
  reason: string;
}

/**
 * The keeper of the remotes in `remotes`: run as their owner, on the socket the installed transfer config names
 * (by default in that user's home, as the keeper itself reads it), by dockvisor's node runtime when installed.
 * `versionDir`: where the VERSION of the remotes to be placed is (a dry run's, not placed yet).
 */
export function keeperPlan(remotes: string, owner: Owner, versionDir = join(remotes, 'lib/dockvisor')): KeeperPlan | NoKeeper {
  // The keeper holds SSH keys' sessions for oned's user; never run as root (a tree of root's is not a front-end's).
  if (owner.uid === 0) return { reason: `${remotes} belongs to root, not to the user oned runs as` };
  const user = passwdEntry({ uid: owner.uid });
  if (!user) return { reason: `${remotes} belongs to uid ${owner.uid}, which /etc/passwd does not list` };
  const lib = join(remotes, 'lib/dockvisor');
  const version = remotesVersion(versionDir);
  if (!version) return { reason: `${versionDir} has no VERSION` };
  const config = join(remotes, 'etc/tm/dockvisor/dockvisor.conf');
  let configured: Partial<TmConfig>;
  try {
    configured = readSettingsFile(config, 'transfer config', TM_CONFIG_FILE, {});
  } catch (error) {
    return { reason: (error as Error).message };
  }
  if (configured.connectionKeeper === '') return { reason: `the transfer config ${config} turns it off (connectionKeeper "")` };
  const runtime = join(SYSTEM_RUNTIME_DIR, 'bin/node');
  return {
    user,
    node: existsSync(runtime) ? runtime : process.execPath,
    script: join(lib, 'tm-keeper.mjs'),
    version,
    socket: configured.connectionKeeper ?? join(user.home, '.dockvisor/tm-connection-keeper.sock'),
  };
}

export function isPlan(plan: KeeperPlan | NoKeeper): plan is KeeperPlan {
  return 'socket' in plan;
}
