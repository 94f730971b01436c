import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** Test bridges and links, made and removed by the tests themselves (198.18.0.0/15 only). */

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

export function createBridge(name: string, hostAddress?: string): void {
  deleteLink(name);
  ip('link', 'add', name, 'type', 'bridge');
  if (hostAddress) ip('addr', 'add', hostAddress, 'dev', name);
  ip('link', 'set', name, 'up');
}

/** Removes a test bridge and the rules dockvisor added for it: in its own chain, and in DOCKER-USER (where it used to). */
export function deleteBridge(name: string): void {
  deleteLink(name);
  for (const chain of ['dockvisor-bridges', 'DOCKER-USER']) {
    // Concurrent deploys may have added the rule more than once; bounded like BridgeFirewall's own removal.
    for (let n = 0; n < 64; n += 1) {
      try {
        execFileSync('iptables', ['-w', '-D', chain, '-i', name, '-o', name, '-j', 'ACCEPT'], { stdio: 'ignore' });
      } catch {
        break; // no (more) rule for it
      }
    }
  }
}

export function deleteLink(name: string): void {
  if (!existsSync(`/sys/class/net/${name}`)) return;
  try {
    execFileSync('ip', ['link', 'del', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    // A veth whose other end was just removed (with its namespace) goes away by itself, a moment later.
    if (existsSync(`/sys/class/net/${name}`)) throw error;
  }
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** A host link's kernel index, as text; undefined when it does not exist. */
export function linkIndex(name: string): string | undefined {
  return linkExists(name) ? readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim() : undefined;
}

export function linkAlias(name: string): string {
  return readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
}

/** Host links whose names start with one of the prefixes (our veth host ends and temporary peers). */
export function linksStartingWith(...prefixes: string[]): string[] {
  return readdirSync('/sys/class/net').filter((name) => prefixes.some((p) => name.startsWith(p)));
}

/** `ip` inside a process's network namespace, as the host sees it. */
export function ipInside(pid: number, ...args: string[]): string {
  return execFileSync('nsenter', [`--target=${pid}`, '--net', 'ip', ...args], { encoding: 'utf8' });
}

/** One ICMP echo from the host, bounded in time; true when answered. */
export function hostPings(address: string): boolean {
  try {
    execFileSync('ping', ['-c', '1', '-W', '2', address], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs a command inside a container's namespaces (its filesystem, network and processes), bounded in time. */
export function runInside(pid: number, ...command: string[]): string {
  return execFileSync('nsenter', [`--target=${pid}`, '--mount', '--uts', '--ipc', '--net', '--pid', ...command], { encoding: 'utf8', timeout: 10_000 });
}

/** One ICMP echo from inside a VM's network namespace, bounded in time; true when answered. */
export function pingsFrom(pid: number, address: string): boolean {
  try {
    runInside(pid, 'ping', '-c', '1', '-W', '2', address);
    return true;
  } catch {
    return false;
  }
}

/** The last line a VM gets of `GET /f` from an httpd at `address:port`: '' when nothing came through. */
export function httpLastLineFrom(pid: number, address: string, port: number): string {
  // The request's stdin stays open while the answer comes: busybox nc stops reading when its stdin ends.
  const request = `(printf 'GET /f HTTP/1.0\\r\\n\\r\\n'; sleep 3) | nc -w 3 ${address} ${port} 2>/dev/null | tail -n 1`;
  return runInside(pid, 'sh', '-c', request).trim();
}
