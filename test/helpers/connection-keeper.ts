import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';
import { ResidentProcess } from './resident-process.ts';

export type TestKeeper = ResidentProcess;

/**
 * The front-end's connection keeper of some built remotes (these by default), on the socket a transfer config names;
 * its action agent only on `agentSocket` (none by default: the tests' actions run by themselves unless a test says so).
 */
export const TestKeeper = {
  start(tmConfig: string, libDir = join(repoRoot, 'remotes/lib/dockvisor'), agentSocket = ''): Promise<TestKeeper> {
    const socket = (JSON.parse(readFileSync(tmConfig, 'utf8')) as { connectionKeeper: string }).connectionKeeper;
    return ResidentProcess.start(join(libDir, 'tm-keeper.mjs'), [socket], {
      env: { ...process.env, DOCKVISOR_TM_CONFIG: tmConfig, DOCKVISOR_AGENT_SOCKET: agentSocket },
    });
  },
};
