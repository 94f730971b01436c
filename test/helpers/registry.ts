import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_ADDRESS = '127.0.0.1:5310';
const REGISTRY_BINARY = '/usr/bin/docker-registry';

/** Debian's docker-registry on 127.0.0.1:5310 with storage in a fresh temporary directory; stop() removes it all. */
export async function startRegistry(): Promise<{ address: string; stop(): Promise<void> }> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: run scripts/setup.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'dvt-nova-registry-'));
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, 'http:', `  addr: ${REGISTRY_ADDRESS}`, ''].join('\n'),
  );
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`http://${REGISTRY_ADDRESS}/v2/`)).ok) return { address: REGISTRY_ADDRESS, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`docker-registry did not start on ${REGISTRY_ADDRESS}: ${stderr.trim().slice(0, 300)}`);
}
