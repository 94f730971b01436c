import { execFileSync, spawn } from 'node:child_process';
import { deleteLink, ip } from './net.ts';

/**
 * A network namespace on a test bridge, standing in for another machine on the VM's network (a KVM VM, a
 * router): one veth, its host end `<link>` in the bridge, `eth0` inside with the given addresses.
 */
export class BridgeNetns {
  constructor(
    readonly name: string,
    private readonly link: string,
  ) {}

  create(bridge: string, addresses: string[]): void {
    this.remove();
    ip('netns', 'add', this.name);
    ip('link', 'add', this.link, 'type', 'veth', 'peer', 'name', `${this.link}p`);
    ip('link', 'set', `${this.link}p`, 'netns', this.name);
    ip('link', 'set', this.link, 'master', bridge);
    ip('link', 'set', this.link, 'up');
    this.ip('link', 'set', `${this.link}p`, 'name', 'eth0');
    for (const address of addresses) this.ip('addr', 'add', address, 'dev', 'eth0', ...(address.includes(':') ? ['nodad'] : []));
    this.ip('link', 'set', 'eth0', 'up');
    this.ip('link', 'set', 'lo', 'up');
  }

  remove(): void {
    deleteLink(this.link);
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // not there
    }
  }

  /** The argv prefix that runs a command inside (a host binary in the namespace's network). */
  get prefix(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8' });
  }

  /** One echo request (ping, or ping -6), bounded in time; true when answered. */
  pings(address: string): boolean {
    try {
      execFileSync(...pingArgv(this.prefix, address), { stdio: 'ignore', timeout: 6000 });
      return true;
    } catch {
      return false;
    }
  }
}

export function pingArgv(prefix: string[], address: string): [string, string[]] {
  const [command, ...args] = [...prefix, 'ping', ...(address.includes(':') ? ['-6'] : []), '-c', '1', '-W', '2', address];
  return [command!, args];
}

/** Runs `node -e script args` in a network namespace, given as the argv prefix that enters it. */
export function nodeIn(prefix: string[], script: string, args: string[]) {
  const [command, ...rest] = [...prefix, process.execPath, '-e', script, ...args];
  return spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
}
