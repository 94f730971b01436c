import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NOVA_SERVICE_ADDRESS, repoRoot } from './settings.ts';

export interface RunningService {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** The compute service as an operator runs it (`dockvisor compute serve`), in its own process. */
export async function startComputeService(configPath: string): Promise<RunningService> {
  const token = randomBytes(24).toString('hex');
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), 'compute', 'serve', '--listen', NOVA_SERVICE_ADDRESS], {
    env: { ...process.env, DOCKVISOR_COMPUTE_TOKEN: token, DOCKVISOR_CONFIG: configPath },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const url = `http://${NOVA_SERVICE_ADDRESS}`;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`${url}/openapi.json`)).ok) return { url, token, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`the compute service did not start on ${NOVA_SERVICE_ADDRESS}: ${stderr.trim().slice(0, 300)}`);
}
