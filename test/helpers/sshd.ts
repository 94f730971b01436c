import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ensureStateDir } from './paths.ts';

const SSHD = '/usr/sbin/sshd';

/** A real OpenSSH server with its own config and keys, for one test file. */
export interface TestSshd {
  address: string;
  port: number;
  /** The client's private key (OpenSSH format), authorized for root. */
  privateKey: Buffer;
  /** SHA-256 of the host public key blob, base64 without padding (as `ssh-keygen -l` prints it). */
  hostKeySha256: string;
  pid: number;
  /** Kills the per-connection sshd processes, which cuts every live SSH connection; the listener stays up. */
  cutConnections(): number;
  /** Starts sshd again after `stop`, same port, same keys. */
  restart(): Promise<void>;
  /** Established TCP connections to this sshd's port, as the kernel sees them (client ends). */
  establishedConnections(): number;
  stop(): Promise<void>;
}

export interface SshdPlacement {
  /** Address to listen on (default 127.0.0.1). */
  address?: string;
  /** Port (default: a free loopback port). */
  port?: number;
  /** Network namespace to run in (a test host's), under /var/run/netns. */
  netns?: string;
  /** More sshd_config lines (e.g. `SetEnv`). */
  extraConfig?: string[];
  /** Lets clients open ports on the server's side (remote forwards), as the datastore's transfer actions do. */
  remoteForwarding?: boolean;
}

/**
 * Starts `/usr/sbin/sshd -D -e -f <config>` under test/.state/sshd-<name>/ (by default on a free loopback
 * port) and waits until it answers with its banner. Throws when sshd cannot be started: tests that need it fail.
 */
export async function startSshd(name: string, placement: SshdPlacement = {}): Promise<TestSshd> {
  const address = placement.address ?? '127.0.0.1';
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (scripts/setup.sh does)`);
  const dir = join(ensureStateDir(), `sshd-${name}`);
  killStale(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory

  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKey);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const hostKeySha256 = createHash('sha256')
    .update(Buffer.from(readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/)[1]!, 'base64'))
    .digest('base64')
    .replace(/=+$/, '');

  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = placement.port ?? (await freePort());
    const config = join(dir, 'sshd_config');
    const pidFile = join(dir, 'sshd.pid');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${address}`,
        `PidFile ${pidFile}`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowStreamLocalForwarding yes',
        // OpenSSH gates streamlocal channel opens on AllowTcpForwarding too: "no" would deny the engine socket.
        placement.remoteForwarding ? 'AllowTcpForwarding yes' : 'AllowTcpForwarding local',
        'X11Forwarding no',
        'UsePAM no',
        'StrictModes no',
        'PrintMotd no',
        'UseDNS no',
        'LogLevel INFO',
        ...(placement.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    execFileSync(SSHD, ['-t', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let running = await launchSshd(config, address, port, placement.netns);
    if (running.listening) {
      const handle: TestSshd = {
        address,
        port,
        privateKey: readFileSync(clientKey),
        hostKeySha256,
        get pid() {
          return running.child.pid!;
        },
        cutConnections: () => killDescendants(running.child.pid!),
        establishedConnections: () => establishedTo(address, port),
        stop: () => stop(running.child, running.exited),
        restart: async () => {
          await stop(running.child, running.exited);
          running = await launchSshd(config, address, port, placement.netns);
          if (!running.listening) throw new Error(`sshd did not start again on ${address}:${port}: ${running.log()}`);
        },
      };
      return handle;
    }
    const { child, exited } = running;
    await stop(child, exited);
    lastError = running.log().trim() || `sshd exited with ${child.exitCode ?? child.signalCode}`;
  }
  throw new Error(`could not start ${SSHD} on ${address}: ${lastError}`);
}

async function launchSshd(config: string, address: string, port: number, netns: string | undefined) {
  // nsenter execs sshd in place: the child's pid is sshd's.
  const command = netns ? ['nsenter', `--net=/var/run/netns/${netns}`, SSHD] : [SSHD];
  const child = spawn(command[0]!, [...command.slice(1), '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      log += `\n${error.message}`;
      resolve();
    });
  });
  const listening = await waitForPort(address, port, child, 10_000);
  return { child, exited, listening, log: () => log };
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dockvisor-test', '-f', path], { stdio: 'ignore' });
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.setTimeout(1000);
      // Wait for sshd's banner: the port accepting is not enough, the listener may be someone else's.
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('SSH-'));
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const task of tasks) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (list) children.push(...list.split(/\s+/).map(Number));
    } catch {
      // the task ended meanwhile
    }
  }
  return children;
}

/** SIGKILLs every process below `pid` (not `pid` itself); returns how many were killed. */
function killDescendants(pid: number): number {
  const all: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length) {
    const next = queue.shift()!;
    all.push(next);
    queue.push(...childrenOf(next));
  }
  let killed = 0;
  for (const child of all) {
    try {
      process.kill(child, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}

function establishedTo(address: string, port: number): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', 'dst', `${address}:${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim()).length;
}

/** An sshd left by an earlier run that died before cleaning up: kill it (only if it is ours). */
function killStale(dir: string): void {
  const pidFile = join(dir, 'sshd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return;
  }
  if (!cmdline.includes(join(dir, 'sshd_config'))) return;
  killDescendants(pid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid !== undefined) killDescendants(child.pid);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
