import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { childEnv } from './child-process.ts';
import { repoRoot, resultsDir } from './settings.ts';

export interface BenchAgent {
  socket: string;
  /** Stops it and says how many actions it ran. */
  stop(): Promise<number>;
}

/** The action agent of the built remotes (agent.mjs) on a socket of the bench's own, with the bench's environment. */
export async function startBenchAgent(): Promise<BenchAgent> {
  const dir = join(resultsDir, `agent-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socket = join(dir, 'agent.sock');
  const child = spawn(process.execPath, [join(repoRoot, 'remotes/lib/dockvisor/agent.mjs'), socket], {
    env: childEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let waited = 0; !stderr.includes('listening'); waited += 20) {
    if (child.exitCode !== null || waited > 10_000) {
      child.kill('SIGKILL');
      throw new Error(`the action agent did not start: ${stderr.trim()}`);
    }
    await sleep(20);
  }
  return {
    socket,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      // One line per action with its time inside the agent: beside the bench's own times, what the launchers add.
      writeFileSync(join(resultsDir, 'agent.log'), stderr);
      return Number(/stopped after (\d+) actions/.exec(stderr)?.[1] ?? 0);
    },
  };
}
