import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Loaded before an action's bundle: node keeps the bundle's compiled code in the running user's own cache
 * directory and the next action starts from it instead of compiling again. A directory that is not the
 * user's alone (another owner, writable by others) is not used; a node without the cache (before 22.1) runs as is.
 */
export function enableUserCompileCache(): void {
  const enable = (module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (!enable || process.env.NODE_COMPILE_CACHE !== undefined || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  try {
    const dir = join(homedir(), '.cache/dockvisor/compile-cache');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.() || stat.mode & 0o022) return;
    enable(dir);
  } catch {
    // no home, a read-only one: the action compiles as before
  }
}

enableUserCompileCache();
