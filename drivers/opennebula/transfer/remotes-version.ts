import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The version of the remotes a bundle in remotes/lib/dockvisor belongs to (its VERSION file, written by the build:
 * the release and a digest of the bundles), so that a connection keeper started from older remotes is not used
 * after `onehost sync`. Undefined when there is no such file (a bundle run from elsewhere): no keeper then.
 */
export function remotesVersion(bundleDir: string): string | undefined {
  try {
    const version = readFileSync(join(bundleDir, 'VERSION'), 'utf8').trim();
    return /^[\x21-\x7e]{1,200}$/.test(version) ? version : undefined;
  } catch {
    return undefined;
  }
}
