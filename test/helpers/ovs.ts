import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Test bridges on the machine's Open vSwitch (started by scripts/setup.sh). The kernel here has no
 * openvswitch module, so bridges use the userspace datapath, as on any such host.
 */

export function vsctl(...args: string[]): string {
  return execFileSync('ovs-vsctl', ['--timeout=20', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Fails, with what to do, when Open vSwitch does not answer: the tests that need it never skip. */
export function requireOvs(): void {
  const probe = spawnSync('ovs-vsctl', ['--timeout=5', 'show'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`Open vSwitch does not answer (${(probe.stderr || String(probe.error)).trim().split('\n').pop()}): run scripts/setup.sh`);
  }
}

export function createOvsBridge(name: string): void {
  vsctl('--if-exists', 'del-br', name);
  vsctl('add-br', name, '--', 'set', 'Bridge', name, 'datapath_type=netdev');
}

export function deleteOvsBridge(name: string): void {
  vsctl('--if-exists', 'del-br', name);
}

/** Ports of every bridge whose names start with one of the prefixes: what a test may have left in OVSDB. */
export function ovsPortsStartingWith(...prefixes: string[]): string[] {
  const names = vsctl('--format=json', '--columns=name', 'list', 'Port');
  const rows = (JSON.parse(names) as { data: [string][] }).data.map(([name]) => name);
  return rows.filter((name) => prefixes.some((prefix) => name.startsWith(prefix)));
}

export function deleteOvsPorts(...prefixes: string[]): void {
  for (const port of ovsPortsStartingWith(...prefixes)) vsctl('--if-exists', 'del-port', port);
}

/** One column of a Port or Interface record as ovs-vsctl prints it (`get`), without the trailing newline. */
export function ovsColumn(table: 'Port' | 'Interface', record: string, column: string): string {
  return vsctl('get', table, record, column).trim();
}

/** Which bridge a port is on; undefined when no bridge has it. */
export function bridgeOfPort(port: string): string | undefined {
  const found = spawnSync('ovs-vsctl', ['--timeout=20', 'port-to-br', port], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}
