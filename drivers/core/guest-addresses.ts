import type { HostAccess } from './host-access.ts';
import type { NicAddress, NicSpec } from './vm-spec.ts';

/**
 * The addresses and routes of a VM's NICs inside its network namespace, as `ip -batch` lines: every IPv4 and
 * IPv6 address of the lease and its aliases, the default routes and the routes the network gives. What a KVM
 * guest's context package configures, done from the host.
 */

export function addressLines(nic: NicSpec, name: string): string[] {
  return [...nic.ipv4, ...nic.ipv6].map((address) => addressLine(address, name));
}

function addressLine(address: NicAddress, name: string): string {
  // No duplicate address detection: the lease is the network's word, and DAD would hold the address for a second.
  const nodad = address.address.includes(':') ? ' nodad' : '';
  return `addr add ${address.address}/${address.prefixLength} dev ${name}${nodad}`;
}

/** Default routes (one metric per NIC, so that several gateways can coexist) and the network's routes. */
export function routeLines(nic: NicSpec, name: string): string[] {
  const metric = 100 + nic.nicId;
  const lines: string[] = [];
  if (nic.gateway) lines.push(`route replace default via ${nic.gateway} dev ${name} metric ${metric}`);
  if (nic.gateway6) lines.push(`route replace ::/0 via ${nic.gateway6} dev ${name} metric ${metric}`);
  // As the context package adds them: by gateway alone, once every NIC has its addresses.
  for (const route of nic.routes) lines.push(`route replace ${route.destination}/${route.prefixLength} via ${route.via}`);
  return lines;
}

/**
 * Brings the addresses and routes of NICs already plugged in line with their specs (a context update, an alias
 * attached or detached): missing addresses are added, global ones the spec no longer has are removed.
 * Link-local addresses are the kernel's and stay.
 */
export async function reconcileAddresses(host: HostAccess, pid: number, nics: NicSpec[]): Promise<void> {
  const inside = ['nsenter', `--target=${pid}`, '--net', 'ip'];
  const current = parseAddresses(await host.run([...inside, '-j', 'addr', 'show'], { root: true }));
  const lines: string[] = [];
  const routes: string[] = [];
  for (const nic of nics) {
    const name = `eth${nic.nicId}`;
    const present = current.get(name);
    if (!present) continue;
    const wanted = new Map([...nic.ipv4, ...nic.ipv6].map((a) => [addressKey(a), a]));
    for (const key of present) if (!wanted.has(key)) lines.push(`addr del ${key} dev ${name}`);
    for (const [key, address] of wanted) {
      if (!present.has(key)) lines.push(addressLine(address, name));
    }
    routes.push(...routeLines(nic, name));
  }
  const batch = [...lines, ...routes];
  if (batch.length) await host.run([...inside, '-batch', '-'], { root: true, input: batch.join('\n') + '\n' });
}

/** `ip -j addr show` as interface name to its global addresses, each `address/prefix` in canonical form. */
export function parseAddresses(json: string): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  const links = JSON.parse(json || '[]') as { ifname?: string; addr_info?: { local?: string; prefixlen?: number; scope?: string }[] }[];
  for (const link of links) {
    if (!link.ifname) continue;
    const addresses = new Set<string>();
    for (const info of link.addr_info ?? []) {
      if (info.scope !== 'global' || !info.local || info.prefixlen === undefined) continue;
      addresses.add(addressKey({ address: info.local, prefixLength: info.prefixlen }));
    }
    result.set(link.ifname, addresses);
  }
  return result;
}

/** An address as `ip` prints it: IPv6 compressed and in lower case, so that 2001:db8:0::1 and 2001:db8::1 are one. */
export function addressKey(address: NicAddress): string {
  const text = address.address.includes(':') ? new URL(`http://[${address.address}]/`).hostname.slice(1, -1) : address.address;
  return `${text}/${address.prefixLength}`;
}
