import { existsSync } from 'node:fs';
import type { HostAccess } from './host-access.ts';

/** Which network links and bridges exist on a host, asked for many names at once. */
export interface HostLinks {
  present(names: string[]): Promise<Set<string>>;
  bridges(names: string[]): Promise<Set<string>>;
}

/** The local host's links as /sys/class/net shows them: no process, as fast as a stat. */
export function sysfsLinks(): HostLinks {
  return {
    present: async (names) => new Set(names.filter(linkExists)),
    bridges: async (names) => new Set(names.filter((name) => existsSync(`/sys/class/net/${name}/bridge`))),
  };
}

/**
 * A host's links as netlink reports them (`ip -j link show`): one round trip for every name, and the
 * namespace of the process that asks, which sysfs does not follow (it shows the namespace it was mounted in).
 */
export function netlinkLinks(access: HostAccess): HostLinks {
  const among = async (names: string[], argv: string[]) => {
    if (names.length === 0) return new Set<string>();
    const links = JSON.parse((await access.run(argv)) || '[]') as { ifname?: string }[];
    const found = new Set(links.map((link) => link.ifname));
    return new Set(names.filter((name) => found.has(name)));
  };
  return {
    present: (names) => among(names, ['ip', '-j', 'link', 'show']),
    bridges: (names) => among(names, ['ip', '-j', 'link', 'show', 'type', 'bridge']),
  };
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}
