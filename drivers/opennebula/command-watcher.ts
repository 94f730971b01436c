import { spawn } from 'node:child_process';
import { HostSetupError } from '../core/errors.ts';

/** The argument that makes the VMM bundle a command's watcher instead of an action (OpenNebula has no action of that name). */
export const WATCH_COMMAND = '--watch-command';

/**
 * Starts the watcher of a VM's command: this same bundle, in a session of its own so that it outlives the
 * action and the SSH session oned ran it in, with nothing of the action's stdio. Returns its pid.
 */
export function startCommandWatcher(containerName: string): number {
  const child = spawn(process.execPath, [process.argv[1]!, WATCH_COMMAND, containerName], { detached: true, stdio: 'ignore', env: process.env });
  child.unref();
  if (!child.pid) throw new HostSetupError(`the watcher of ${containerName}'s command could not be started`);
  return child.pid;
}
