import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { InvalidInputError } from '../../core/errors.ts';
import { hostSettingsAsWritten, type HostSettings } from '../../core/host-settings.ts';

/**
 * Gives the front-end its identity in the host config of its remotes, once: `frontEndId`, which deploy records
 * on the containers it makes and by which the probes on a shared host keep to this front-end's VMs (oned copies
 * the file to every host). A config that has one keeps it; nothing else in the file changes. The file is checked
 * whole first, as the driver reads it: one it would refuse is not written to. Returns the id.
 */
export function giveFrontEndId(hostConfigPath: string): { id: string; given: boolean } {
  const refused = (reason: string) => new InvalidInputError(`${reason}; the front-end's identity was not written`);
  if (!existsSync(hostConfigPath)) throw refused(`host config ${hostConfigPath} does not exist`);
  let config: Partial<HostSettings>;
  try {
    config = hostSettingsAsWritten(hostConfigPath);
  } catch (error) {
    throw refused((error as Error).message);
  }
  if (config.frontEndId) return { id: config.frontEndId, given: false };
  const name =
    hostname()
      .split('.')[0]!
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 40) || 'front-end';
  const id = `${name}-${randomBytes(4).toString('hex')}`;
  const { mode, uid, gid } = statSync(hostConfigPath);
  const staging = `${hostConfigPath}.${process.pid}.tmp`;
  writeFileSync(staging, `${JSON.stringify({ ...config, frontEndId: id }, null, 2)}\n`, { mode: mode & 0o777 });
  if (process.getuid?.() === 0) chownSync(staging, uid, gid);
  renameSync(staging, hostConfigPath);
  return { id, given: true };
}
