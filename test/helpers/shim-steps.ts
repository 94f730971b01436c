import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './paths.ts';

/** What one step of a fixture saw, as it printed it. */
export type Seen = Record<string, any>;

/**
 * A Python fixture under test/fixtures that drives the Nova shim with real nova objects, run once and stepped
 * through one line a step: the process outlives each step because importing nova takes seconds.
 */
export class ShimSteps {
  private stderr = '';
  private readonly answers: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    child.stdin!.on('error', () => undefined); // a process that died is reported by the step that waits for it
    this.answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static start(fixture: string, env: Record<string, string>): ShimSteps {
    const child = spawn('/usr/bin/python3', [join(repoRoot, 'test/fixtures', fixture)], {
      cwd: tmpdir(),
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ShimSteps(child);
  }

  /** Runs one step; a step that raised, or a process that ended, fails with its traceback or the end of its stderr. */
  async step(...words: string[]): Promise<Seen> {
    this.child.stdin!.write(`${words.join(' ')}\n`);
    const line = await this.answers.next();
    if (line.done) throw new Error(`the shim fixture ended before answering ${words[0]}: ${this.stderr.split('\n').slice(-15).join('\n')}`);
    const answer = JSON.parse(line.value) as { seen?: Seen; error?: string };
    if (answer.error !== undefined) throw new Error(`step ${words.join(' ')} raised:\n${answer.error}`);
    return answer.seen!;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}
