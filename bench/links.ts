import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** A fresh Linux bridge with the host's address on it, replacing one of the same name. */
export async function createBridge(name: string, hostAddress: string): Promise<void> {
  await removeLink(name);
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge'], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('ip', ['addr', 'add', hostAddress, 'dev', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('ip', ['link', 'set', name, 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Removes a bridge and the DOCKER-USER rule(s) the driver adds for a VM bridge
 * (`-i <bridge> -o <bridge> -j ACCEPT`); a host without iptables or without the rule is fine.
 */
export async function removeBridge(name: string): Promise<void> {
  await removeLink(name);
  const rule = ['DOCKER-USER', '-i', name, '-o', name, '-j', 'ACCEPT'];
  for (let i = 0; i < 10; i++) {
    try {
      execFileSync('iptables', ['-w', '-D', ...rule], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      return;
    }
  }
}

/** Runs `argv` with `input` on stdin (as `ip -batch -` wants it); rejects with its stderr unless it exits 0. */
export function runWithInput(argv: string[], input: string, timeoutMs = 30_000): Promise<void> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new Error(`${file}: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} ${signal ? `was killed (${signal})` : `exited ${code}`}: ${stderr.trim().slice(0, 300)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** True when `link` is a port of `bridge`. */
export function isBridgePort(bridge: string, link: string): boolean {
  return existsSync(`/sys/class/net/${bridge}/brif/${link}`);
}

/** Deletes a link if it is there and waits until the kernel has let go of it; one that vanishes by itself meanwhile is fine. */
export async function removeLink(name: string, waitMs = 3000): Promise<void> {
  if (!linkExists(name)) return;
  try {
    execFileSync('ip', ['link', 'del', name], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (error) {
    if (linkExists(name)) throw error;
  }
  for (let waited = 0; linkExists(name); waited += 20) {
    if (waited >= waitMs) throw new Error(`link ${name} is still there ${waitMs} ms after removal`);
    await sleep(20);
  }
}
