import { spawn } from 'node:child_process';
import { HostSetupError } from '../core/errors.ts';

/** The argument that makes the VMM bundle a command's watcher instead of an action (OpenNebula has no action of that name). */
export const WATCH_COMMAND = '--watch-command';

/**
 * Starts the watcher of a VM's command: the VMM bundle (this process's own unless named), in a session of its own so that it outlives the
 * action and the SSH session oned ran it in, with nothing of the action's stdio. Returns its pid.
 */
export function startCommandWatcher(containerName: string, bundle: string = process.argv[1]!, env: NodeJS.ProcessEnv = process.env): number {
  const child = spawn(process.execPath, [bundle, WATCH_COMMAND, containerName], { detached: true, stdio: 'ignore', env });
  child.unref();
  if (!child.pid) throw new HostSetupError(`the watcher of ${containerName}'s command could not be started`);
  return child.pid;
}
