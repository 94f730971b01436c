import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_ADDRESS = '127.0.0.1:5310';
const REGISTRY_BINARY = '/usr/bin/docker-registry';
const WAIT_FOR_PORT_MS = 180_000;

export interface SnapshotRegistry {
  address: string;
  stop(): Promise<void>;
}

/**
 * Debian's docker-registry on 127.0.0.1:5310 with storage in a fresh temporary directory; stop() removes it
 * all. Test files that run at once take turns: one whose registry cannot bind the port waits for it.
 */
export async function startRegistry(): Promise<SnapshotRegistry> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: run scripts/setup.sh`);
  const deadline = Date.now() + WAIT_FOR_PORT_MS;
  for (;;) {
    const attempt = await startOnce();
    if (attempt.registry) return attempt.registry;
    if (!/address already in use/.test(attempt.error) || Date.now() > deadline) {
      throw new Error(`docker-registry did not start on ${REGISTRY_ADDRESS}: ${attempt.error.slice(0, 300)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function startOnce(): Promise<{ registry?: SnapshotRegistry; error: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dvt-nova-registry-'));
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, 'http:', `  addr: ${REGISTRY_ADDRESS}`, ''].join(
      '\n',
    ),
  );
  const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50 && child.exitCode === null; i++) {
    // Ours answers only once it has bound the port; another's answering meanwhile is told apart by our process still running.
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`http://${REGISTRY_ADDRESS}/v2/`)).ok && child.exitCode === null && !/address already in use/.test(stderr)) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (child.exitCode === null) return { registry: { address: REGISTRY_ADDRESS, stop }, error: '' };
      }
    } catch {
      // not listening yet
    }
  }
  await stop();
  return { error: stderr.trim() || 'no answer on /v2/' };
}
