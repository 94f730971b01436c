import type { HostAccess } from './host-access.ts';
import type { NicSpec } from './vm-spec.ts';

/**
 * Keeps the container's resolv.conf in step with its NICs' DNS servers and search domains when they
 * change at run time (NIC attach, context update). At create time the engine writes it from the same data.
 */
export async function applyResolvConf(path: string, nics: NicSpec[], host: HostAccess): Promise<void> {
  const servers = [...new Set(nics.flatMap((nic) => nic.dns))];
  const domains = [...new Set(nics.flatMap((nic) => nic.searchDomains))];
  if (servers.length === 0 && domains.length === 0) return;
  const wanted = [domains.length ? `search ${domains.join(' ')}` : '', ...servers.map((s) => `nameserver ${s}`)].filter(Boolean).join('\n') + '\n';
  let current = '';
  try {
    current = await host.readFile(path);
  } catch {
    // unreadable without root: rewrite it
  }
  if (current === wanted) return;
  await host.run(['tee', path], { root: true, input: wanted });
}
