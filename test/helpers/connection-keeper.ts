import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from './paths.ts';

/**
 * The front-end's connection keeper of some built remotes (these by default), on the socket a transfer config names;
 * its action agent only on `agentSocket` (none by default: the tests' actions run by themselves unless a test says so).
 */
export class TestKeeper {
  stderr = '';
  private constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static async start(tmConfig: string, libDir = join(repoRoot, 'remotes/lib/dockvisor'), agentSocket = ''): Promise<TestKeeper> {
    const socket = (JSON.parse(readFileSync(tmConfig, 'utf8')) as { connectionKeeper: string }).connectionKeeper;
    const keeper = new TestKeeper(
      spawn(process.execPath, [join(libDir, 'tm-keeper.mjs'), socket], {
        env: { ...process.env, DOCKVISOR_TM_CONFIG: tmConfig, DOCKVISOR_AGENT_SOCKET: agentSocket },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    for (let waited = 0; !keeper.stderr.includes('listening'); waited += 20) {
      if (keeper.child.exitCode !== null || waited > 15_000) {
        keeper.child.kill('SIGKILL');
        throw new Error(`the connection keeper did not start: ${keeper.stderr.trim()}`);
      }
      await sleep(20);
    }
    return keeper;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops it (SIGTERM, or `signal`) and waits for it to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
  }

  async exited(): Promise<void> {
    if (this.running) await once(this.child, 'exit');
  }
}
