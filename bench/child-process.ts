import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface TimedRun {
  /** From just before spawn() to the child's exit with its output closed. */
  ms: number;
  /** When spawn() was called, in ms since the epoch (to line up with a child's performance.timeOrigin). */
  startedAt: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  abort?: AbortSignal;
}

/** The environment children get: ours, without anything that would make node load more than it is asked to. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

/** Runs one process to its end and times it; killed (SIGKILL) on timeout or abort. */
export function runTimed(file: string, args: string[], options: RunOptions): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    if (options.abort?.aborted) return reject(new Error('interrupted'));
    const started = performance.now();
    const child = spawn(file, args, {
      env: options.env ?? childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      signal: options.abort,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      if (error.name !== 'AbortError') reject(new Error(`${file}: ${error.message}`));
    });
    child.on('close', (code, signal) => resolve({ ms: performance.now() - started, startedAt: performance.timeOrigin + started, code, signal, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** One line saying how a run that should have succeeded ended. */
export function describeFailure(what: string, run: TimedRun): string {
  const how = run.signal ? `was killed (${run.signal})` : `exited ${run.code}`;
  const detail = run.stderr.trim().split('\n').filter(Boolean).join('; ').slice(0, 300);
  return `${what} ${how}${detail ? `: ${detail}` : ''}`;
}
