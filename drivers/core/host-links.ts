import { existsSync, readFileSync } from 'node:fs';
import type { HostAccess } from './host-access.ts';

/** A network link on a host, with what tells whose it is. */
export interface HostLink {
  /** The kernel's interface index. */
  index: number;
  /** The index of the link's peer (a veth's other end, in whatever namespace it is); its own index when it has none. */
  peerIndex: number;
  /** The link's alias (`ip link set ... alias`), empty when it has none. */
  alias: string;
}

/** Which network links and bridges exist on a host, asked for many names at once. */
export interface HostLinks {
  present(names: string[]): Promise<Set<string>>;
  /** The links among `names` that exist, with their indexes and aliases. */
  describe(names: string[]): Promise<Map<string, HostLink>>;
  bridges(names: string[]): Promise<Set<string>>;
}

/** The local host's links as /sys/class/net shows them: no process, as fast as a stat. */
export function sysfsLinks(): HostLinks {
  return {
    present: async (names) => new Set(names.filter(linkExists)),
    describe: async (names) => {
      const found = new Map<string, HostLink>();
      for (const name of names) {
        const link = sysfsLink(name);
        if (link) found.set(name, link);
      }
      return found;
    },
    bridges: async (names) => new Set(names.filter((name) => existsSync(`/sys/class/net/${name}/bridge`))),
  };
}

interface NetlinkEntry {
  ifname?: string;
  ifindex?: number;
  link_index?: number;
  ifalias?: string;
}

/**
 * A host's links as netlink reports them (`ip -j link show`): one round trip for every name, and the
 * namespace of the process that asks, which sysfs does not follow (it shows the namespace it was mounted in).
 */
export function netlinkLinks(access: HostAccess): HostLinks {
  const list = async (names: string[], argv: string[]): Promise<NetlinkEntry[]> => {
    if (names.length === 0) return [];
    const wanted = new Set(names);
    return (JSON.parse((await access.run(argv)) || '[]') as NetlinkEntry[]).filter((link) => link.ifname && wanted.has(link.ifname));
  };
  const names = (links: NetlinkEntry[]) => new Set(links.map((link) => link.ifname!));
  return {
    present: async (wanted) => names(await list(wanted, ['ip', '-j', 'link', 'show'])),
    describe: async (wanted) => new Map((await list(wanted, ['ip', '-j', 'link', 'show'])).map((link) => [link.ifname!, netlinkLink(link)])),
    bridges: async (wanted) => names(await list(wanted, ['ip', '-j', 'link', 'show', 'type', 'bridge'])),
  };
}

/** The links `ip -j link show` printed (in a container's namespace, say), by name. */
export function parseNetlinkLinks(json: string): Map<string, HostLink> {
  const links = JSON.parse(json || '[]') as NetlinkEntry[];
  return new Map(links.filter((link) => link.ifname).map((link) => [link.ifname!, netlinkLink(link)]));
}

function netlinkLink(link: NetlinkEntry): HostLink {
  const index = link.ifindex ?? 0;
  return { index, peerIndex: link.link_index ?? index, alias: link.ifalias ?? '' };
}

function sysfsLink(name: string): HostLink | undefined {
  const read = (file: string) => readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  try {
    return { index: Number(read('ifindex')), peerIndex: Number(read('iflink')), alias: read('ifalias') };
  } catch {
    return undefined; // gone, or never there
  }
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}
