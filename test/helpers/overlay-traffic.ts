import { execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { collect } from './vmm.ts';

/** A machine on a test network: its address, and how to run BusyBox in its network namespace. */
export interface Endpoint {
  name: string;
  ip: string;
  /** Runs the words after it in the endpoint's namespaces, where `busybox` is on the PATH. */
  enter: string[];
}

/** A container, entered from the machine: its own filesystem (BusyBox of the test image), network and processes. */
export function containerEndpoint(name: string, ip: string, pid: number): Endpoint {
  return { name, ip, enter: ['nsenter', `--target=${pid}`, '--mount', '--uts', '--ipc', '--net', '--pid'] };
}

/** A bare network namespace, with the machine's own BusyBox. */
export function netnsEndpoint(name: string, ip: string, netns: string): Endpoint {
  return { name, ip, enter: ['ip', 'netns', 'exec', netns] };
}

/** One ICMP echo, bounded in time; true when answered. */
export function pings(from: Endpoint, to: Endpoint, waitSeconds = 2): boolean {
  try {
    execFileSync(from.enter[0]!, [...from.enter.slice(1), 'busybox', 'ping', '-c', '1', '-W', String(waitSeconds), to.ip], {
      stdio: 'ignore',
      timeout: (waitSeconds + 3) * 1000,
    });
    return true;
  } catch {
    return false;
  }
}

const PORT = '7070';

/**
 * A TCP exchange: `to` listens, `from` sends a line naming itself then `bulkBytes` more, and half-closes;
 * `to` answers with the line and the count of the rest. Returns the answer; bounded to about 15 s.
 */
export async function tcpExchange(from: Endpoint, to: Endpoint, bulkBytes: number): Promise<string> {
  const server = spawn(
    to.enter[0]!,
    [
      ...to.enter.slice(1),
      'busybox',
      'timeout',
      '12',
      'busybox',
      'nc',
      '-l',
      '-p',
      PORT,
      '-e',
      'busybox',
      'sh',
      '-c',
      'read line; echo "got $line"; busybox wc -c',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const served = collect(server);
  try {
    const send = `(echo ${from.name}; busybox head -c ${bulkBytes} /dev/zero) | busybox nc -w 3 ${to.ip} ${PORT}`;
    for (let attempt = 0; ; attempt++) {
      const answer = runIn(from, ['busybox', 'sh', '-c', send]);
      if (answer.trim() || attempt >= 20) return answer.trim().replace(/\s+/g, ' ');
      await sleep(200); // the listener is not up yet
    }
  } finally {
    if (server.exitCode === null) server.kill();
    await served;
  }
}

function runIn(endpoint: Endpoint, words: string[]): string {
  try {
    return execFileSync(endpoint.enter[0]!, [...endpoint.enter.slice(1), ...words], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 8000 });
  } catch {
    return '';
  }
}
