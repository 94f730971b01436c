import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** A resident bundle of the remotes (tm-keeper.mjs, agent.mjs) run by this node, up once its stderr says it is listening. */
export class ResidentProcess {
  stderr = '';
  private constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static async start(script: string, args: string[], options: Pick<SpawnOptions, 'env' | 'uid' | 'gid'>, timeoutMs = 15_000): Promise<ResidentProcess> {
    const resident = new ResidentProcess(spawn(process.execPath, [script, ...args], { ...options, stdio: ['ignore', 'ignore', 'pipe'] }));
    for (let waited = 0; !resident.stderr.includes('listening'); waited += 20) {
      if (resident.child.exitCode !== null || waited > timeoutMs) {
        resident.child.kill('SIGKILL');
        throw new Error(`${script} did not start: ${resident.stderr.trim()}`);
      }
      await sleep(20);
    }
    return resident;
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
