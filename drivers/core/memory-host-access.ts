import type { ProcessTable } from '../engine/memory-engine.ts';
import { CommandError } from './command-runner.ts';
import type { HostAccess, RunOptions } from './host-access.ts';
import type { HostLink, HostLinks } from './host-links.ts';

interface Link {
  index: number;
  /** The other end of a veth pair (its index), or the link's own index. */
  peerIndex: number;
  alias: string;
  master?: string;
  up: boolean;
  mac?: string;
  addresses: string[];
}

/** A command the host was asked to run, with what was written to its stdin. */
export interface RanCommand {
  argv: string[];
  root: boolean;
  input?: string;
}

/**
 * A host in memory, for the MemoryEngine's processes: network links (bridges, veth pairs, each process's
 * namespace), the /proc files the core reads (net/dev, stat, meminfo...) and a few others, and a record of every
 * command it was asked to run. It understands the commands the core runs (`ip -batch`, `nsenter ... ip`,
 * `iptables`, `tee`, `df`, `mount`), so NicPlumbing and VmLifecycle work on it as on a real host.
 */
export class MemoryHostAccess implements HostAccess, ProcessTable {
  readonly name: string;
  readonly local = false;
  readonly commands: RanCommand[] = [];
  readonly files = new Map<string, string>();
  /** iptables' filter table, chain by chain, rules in order as `iptables -S` prints them less `-A <chain>`: as Docker leaves it. */
  readonly iptablesChains = new Map<string, string[]>([
    ['FORWARD', ['-j DOCKER-USER', '-j DOCKER-FORWARD']],
    ['DOCKER-USER', []],
    ['DOCKER-FORWARD', []],
  ]);
  /** Each link's `tc` lines by link index, as the core's batches left them (shaping is recorded, not modelled). */
  private readonly shaping = new Map<number, string[]>();
  private readonly hostLinks = new Map<string, Link>();
  private readonly bridgeNames = new Set<string>();
  private readonly namespaces = new Map<number, Map<string, Link>>();
  private nextIndex = 10;

  constructor(name = 'this host') {
    this.name = name;
    this.files.set('/proc/meminfo', 'MemTotal:       8000000 kB\nMemFree:        4000000 kB\nMemAvailable:   6000000 kB\n');
    this.files.set('/sys/devices/system/cpu/online', '0-3\n');
    this.files.set('/proc/cpuinfo', 'processor\t: 0\nmodel name\t: Memory CPU @ 2.00GHz\n');
    this.files.set('/proc/uptime', '3600.00 7200.00\n');
    this.files.set('/proc/loadavg', '0.10 0.20 0.30 1/100 1234\n');
    this.files.set('/proc/sys/net/bridge/bridge-nf-call-iptables', '1\n');
  }

  readonly links: HostLinks = {
    present: async (names) => new Set(names.filter((name) => this.hostLinks.has(name))),
    describe: async (names) => new Map(names.filter((name) => this.hostLinks.has(name)).map((name) => [name, this.describeLink(this.hostLinks.get(name)!)])),
    bridges: async (names) => new Set(names.filter((name) => this.bridgeNames.has(name))),
  };

  addBridge(name: string): void {
    this.bridgeNames.add(name);
    this.hostLinks.set(name, this.newLink());
  }

  /** A link on the host that is not a VM's (another tool's), to see that the core leaves it alone. */
  addForeignLink(name: string, alias = ''): void {
    this.hostLinks.set(name, { ...this.newLink(), alias });
  }

  /** Names of the host's links, bridges included. */
  hostLinkNames(): string[] {
    return [...this.hostLinks.keys()];
  }

  /** The links inside process `pid`'s network namespace, with their addresses and MACs. */
  interfacesOf(pid: number): Map<string, { mac?: string; addresses: string[]; alias: string }> {
    return new Map(
      [...(this.namespaces.get(pid) ?? new Map<string, Link>())].map(([name, link]) => [name, { mac: link.mac, addresses: link.addresses, alias: link.alias }]),
    );
  }

  /** The `tc` lines that shape a link: a host link, or one inside process `pid`'s namespace. */
  shapingOf(name: string, pid?: number): string[] {
    const link = (pid === undefined ? this.hostLinks : this.namespaces.get(pid))?.get(name);
    return link ? (this.shaping.get(link.index) ?? []) : [];
  }

  /** The bridge a host link is plugged into. */
  masterOf(name: string): string | undefined {
    return this.hostLinks.get(name)?.master;
  }

  started(pid: number): void {
    this.namespaces.set(pid, new Map([['lo', { ...this.newLink(), up: false }]]));
  }

  /** The process is gone and so is its namespace: the kernel deletes each veth pair with an end inside it. */
  ended(pid: number): void {
    const inside = this.namespaces.get(pid);
    this.namespaces.delete(pid);
    if (!inside) return;
    const peers = new Set([...inside.values()].map((link) => link.peerIndex));
    for (const [name, link] of this.hostLinks) if (peers.has(link.index) && link.peerIndex !== link.index) this.hostLinks.delete(name);
  }

  async run(argv: string[], options: RunOptions = {}): Promise<string> {
    this.commands.push({ argv, root: options.root ?? false, ...(options.input !== undefined ? { input: options.input } : {}) });
    const fail = (reason: string): never => {
      throw new CommandError(`${argv.join(' ').slice(0, 120)} on ${this.name}: ${reason}`);
    };
    const [command, ...args] = argv;
    switch (command) {
      case 'ip':
        return this.ip(this.hostLinks, args, options.input ?? '', fail);
      case 'nsenter': {
        const pid = Number(/^--target=(\d+)$/.exec(args[0] ?? '')?.[1]);
        const inside = this.namespaces.get(pid);
        if (!inside) return fail(`cannot open /proc/${pid}/ns/net: No such file or directory`);
        if (args[1] !== '--net' || (args[2] !== 'ip' && args[2] !== 'tc')) return fail('unexpected nsenter command');
        if (args[2] === 'tc') return this.tc(inside, args.slice(3), options.input ?? '', fail);
        return this.ip(inside, args.slice(3), options.input ?? '', fail);
      }
      case 'tc':
        return this.tc(this.hostLinks, args, options.input ?? '', fail);
      case 'iptables':
        return this.iptables(
          args.filter((arg) => arg !== '-w'),
          fail,
        );
      case 'tee':
        this.files.set(args[0] ?? '', options.input ?? '');
        return options.input ?? '';
      case 'df':
        return 'Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/memory     104857600 52428800  52428800      50% /\n';
      case 'ovs-vsctl':
      case 'mount':
      case 'umount':
        return '';
      default:
        return fail('command not found');
    }
  }

  async readFile(path: string): Promise<string> {
    const proc = /^\/proc\/(\d+)\/(net\/dev|stat)$/.exec(path);
    if (proc) {
      const pid = Number(proc[1]);
      const inside = this.namespaces.get(pid);
      if (!inside) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      if (proc[2] === 'stat') return `${pid} (init) S 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`;
      const header =
        'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
      return header + [...inside.keys()].map((name) => `${name.padStart(6)}: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`).join('');
    }
    const text = this.files.get(path);
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  }

  async exists(path: string): Promise<boolean> {
    if (path.startsWith('/proc/'))
      return this.readFile(path).then(
        () => true,
        () => false,
      );
    return this.files.has(path);
  }

  async close(): Promise<void> {}

  private newLink(): Link {
    const index = this.nextIndex++;
    return { index, peerIndex: index, alias: '', up: false, addresses: [] };
  }

  private describeLink(link: Link): HostLink {
    return { index: link.index, peerIndex: link.peerIndex, alias: link.alias };
  }

  /** `ip -batch -` (stopping at the first failing line unless `-force`) and `ip -j link show`, in one namespace. */
  private ip(space: Map<string, Link>, args: string[], input: string, fail: (reason: string) => never): string {
    if (args.join(' ') === '-j link show') {
      return JSON.stringify([...space].map(([ifname, link]) => ({ ifname, ifindex: link.index, link_index: link.peerIndex, ifalias: link.alias })));
    }
    if (args.join(' ') === '-j addr show') {
      return JSON.stringify(
        [...space].map(([ifname, link]) => ({
          ifname,
          addr_info: link.addresses.map((cidr) => {
            const [local, prefixlen] = cidr.split('/');
            return { family: local!.includes(':') ? 'inet6' : 'inet', local, prefixlen: Number(prefixlen), scope: 'global' };
          }),
        })),
      );
    }
    const force = args[0] === '-force';
    const rest = force ? args.slice(1) : args;
    if (rest.join(' ') !== '-batch -') return fail('unexpected ip command');
    let firstFailure: string | undefined;
    for (const line of input.split('\n').filter(Boolean)) {
      try {
        this.ipLine(space, line.split(' '));
      } catch (error) {
        firstFailure ??= `Command failed -:${line}: ${(error as Error).message}`;
        if (!force) break;
      }
    }
    if (firstFailure) fail(firstFailure);
    return '';
  }

  private ipLine(space: Map<string, Link>, words: string[]): void {
    const need = (name: string | undefined) => {
      const link = name === undefined ? undefined : space.get(name);
      if (!link) throw new Error(`Cannot find device "${name}"`);
      return link;
    };
    const [object, verb, name = '', ...rest] = words;
    if (object === 'link' && verb === 'add') {
      const peerName = rest[rest.indexOf('name') + 1] ?? '';
      if (!rest.includes('veth')) throw new Error('only veth pairs are known here');
      if (space.has(name) || space.has(peerName)) throw new Error('RTNETLINK answers: File exists');
      const end = this.newLink();
      const peer = this.newLink();
      end.peerIndex = peer.index;
      peer.peerIndex = end.index;
      space.set(name, end);
      space.set(peerName, peer);
    } else if (object === 'link' && verb === 'set') {
      const link = need(name);
      const [what, value = ''] = rest;
      if (what === 'alias') link.alias = value === '""' ? '' : value;
      else if (what === 'up') link.up = true;
      else if (what === 'address') link.mac = value;
      else if (what === 'master') {
        if (!this.bridgeNames.has(value)) throw new Error(`Cannot find device "${value}"`);
        link.master = value;
      } else if (what === 'name') {
        if (space.has(value)) throw new Error('RTNETLINK answers: File exists');
        space.delete(name);
        space.set(value, link);
      } else if (what === 'netns') {
        const target = this.namespaces.get(Number(value));
        if (!target) throw new Error(`Invalid "netns" value "${value}"`);
        space.delete(name);
        target.set(name, link);
      } else throw new Error(`unknown link setting ${what}`);
    } else if (object === 'link' && verb === 'del') {
      const link = need(name);
      space.delete(name);
      if (link.peerIndex !== link.index) this.deleteIndex(link.peerIndex);
    } else if (object === 'addr' && verb === 'add') {
      const link = need(rest[1]);
      if (link.addresses.includes(name)) throw new Error('RTNETLINK answers: File exists');
      link.addresses.push(name);
    } else if (object === 'addr' && verb === 'del') {
      const link = need(rest[1]);
      if (!link.addresses.includes(name)) throw new Error('RTNETLINK answers: Cannot assign requested address');
      link.addresses.splice(link.addresses.indexOf(name), 1);
    } else if (object === 'route' && (verb === 'add' || verb === 'replace')) {
      // routes are not modelled; the command is recorded
    } else {
      throw new Error(`Object "${object}" is unknown here`);
    }
  }

  /** `tc qdisc show` and `tc -batch -` of root qdiscs and their classes, in one namespace. */
  private tc(space: Map<string, Link>, args: string[], input: string, fail: (reason: string) => never): string {
    if (args.join(' ') === 'qdisc show') {
      return [...space]
        .map(([name, link]) =>
          this.shaping.get(link.index)?.length ? `qdisc htb 1: dev ${name} root refcnt 2\n` : `qdisc noqueue 0: dev ${name} root refcnt 2\n`,
        )
        .join('');
    }
    if (args.join(' ') !== '-batch -') return fail('unexpected tc command');
    for (const line of input.split('\n').filter(Boolean)) {
      const dev = / dev (\S+)/.exec(line)?.[1] ?? '';
      const link = space.get(dev) ?? fail(`Command failed -: Cannot find device "${dev}"`);
      if (line.startsWith('qdisc del ')) {
        if (!this.shaping.get(link.index)?.length) fail('Command failed -: Error: Cannot delete qdisc with handle of zero.');
        this.shaping.delete(link.index);
      } else this.shaping.set(link.index, [...(this.shaping.get(link.index) ?? []), line]);
    }
    return '';
  }

  private deleteIndex(index: number): void {
    for (const space of [this.hostLinks, ...this.namespaces.values()]) {
      for (const [name, link] of space) if (link.index === index) space.delete(name);
    }
  }

  /** The whole filter table as `iptables -S` prints it: the built-in chains' policies, the other chains, the rules. */
  private iptablesTable(): string {
    const builtIn = ['INPUT', 'FORWARD', 'OUTPUT'];
    const chains = [...this.iptablesChains.keys()];
    return (
      [
        ...builtIn.map((name) => `-P ${name} ${name === 'FORWARD' ? 'DROP' : 'ACCEPT'}`),
        ...chains.filter((name) => !builtIn.includes(name)).map((name) => `-N ${name}`),
        ...chains.flatMap((name) => this.iptablesChains.get(name)!.map((line) => `-A ${name} ${line}`)),
      ].join('\n') + '\n'
    );
  }

  private iptables(args: string[], fail: (reason: string) => never): string {
    const [flag, chainName = '', ...rule] = args;
    if (flag === '-S' && !chainName) return this.iptablesTable();
    const key = rule.join(' ');
    const chain = this.iptablesChains.get(chainName);
    if (flag === '-N') {
      if (chain) return fail('iptables: Chain already exists.');
      this.iptablesChains.set(chainName, []);
      return '';
    }
    if (!chain) return fail('iptables: No chain/target/match by that name.');
    const target = /(?:^| )-j (\S+)/.exec(key)?.[1];
    if ((flag === '-A' || flag === '-I') && target && !['ACCEPT', 'DROP', 'RETURN'].includes(target) && !this.iptablesChains.has(target)) {
      return fail(`Couldn't load target \`${target}'`);
    }
    const missing = () => fail('Bad rule (does a matching rule exist in that chain?).');
    switch (flag) {
      case '-S':
        return [chainName === 'FORWARD' ? '-P FORWARD DROP' : `-N ${chainName}`, ...chain.map((line) => `-A ${chainName} ${line}`)].join('\n') + '\n';
      case '-C':
        return chain.includes(key) ? '' : missing();
      case '-A':
        chain.push(key);
        return '';
      case '-I':
        chain.unshift(key);
        return '';
      case '-D': {
        const at = chain.indexOf(key);
        if (at < 0) return missing();
        chain.splice(at, 1);
        return '';
      }
      default:
        return fail('unknown iptables option');
    }
  }
}
