import { hostname } from 'node:os';
import type { TmConfig } from './tm-config.ts';

/**
 * `onevm undeploy` and `onevm stop` move a VM's directory from its host to the front-end with `mv`, and resume moves
 * it back; oned names the front-end as it names itself (HOSTNAME in oned.conf, else this machine's name, often
 * fully qualified). A name listed under `hosts` is a dockvisor host, whatever it looks like.
 */
export function isFrontEnd(config: TmConfig, host: string): boolean {
  if (Object.hasOwn(config.hosts, host)) return false;
  if (config.frontEndHostname !== undefined) return host === config.frontEndHostname;
  const own = hostname();
  return host === own || host.startsWith(`${own}.`) || own.startsWith(`${host}.`);
}
