import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResidentProcess } from '../test/helpers/resident-process.ts';
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
  const agent = await ResidentProcess.start(join(repoRoot, 'remotes/lib/dockvisor/agent.mjs'), [socket], { env: childEnv() });
  return {
    socket,
    stop: async () => {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
      // One line per action with its time inside the agent: beside the bench's own times, what the launchers add.
      writeFileSync(join(resultsDir, 'agent.log'), agent.stderr);
      return Number(/stopped after (\d+) actions/.exec(agent.stderr)?.[1] ?? 0);
    },
  };
}
