import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /**
   * The child's stdout is a kernel pipe (64 KB), as Ruby's Open3 and shells give it, rather than the
   * socket pair node's spawn() makes, whose larger buffer hides output lost by a child that exits before
   * its last write is drained.
   */
  stdoutPipe?: boolean;
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
    let pipe: { writeFd: number; reader: net.Socket } | undefined;
    try {
      pipe = options.stdoutPipe ? kernelPipe() : undefined;
    } catch (error) {
      return reject(error);
    }
    const started = performance.now();
    const child = spawn(file, args, {
      env: options.env ?? childEnv(),
      stdio: ['pipe', pipe ? pipe.writeFd : 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      signal: options.abort,
    });
    if (pipe) closeSync(pipe.writeFd); // the child has its copy: the reader sees the end when the child's is closed
    let stdout = '';
    let stderr = '';
    (pipe ? pipe.reader : child.stdout!).on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      pipe?.reader.destroy();
      if (error.name !== 'AbortError') reject(new Error(`${file}: ${error.message}`));
    });
    // Done when the child has exited with its output closed, the kernel pipe's too.
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let outputClosed = !pipe;
    const finish = () => {
      if (exit && outputClosed) resolve({ ms: performance.now() - started, startedAt: performance.timeOrigin + started, ...exit, stdout, stderr });
    };
    pipe?.reader.on('error', () => undefined); // ends in 'close' all the same
    pipe?.reader.on('close', () => {
      outputClosed = true;
      finish();
    });
    child.on('close', (code, signal) => {
      exit = { code, signal };
      if (signal) pipe?.reader.destroy(); // killed: what it started may still hold the pipe
      finish();
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.stdin ?? '');
  });
}

/** A kernel pipe (a FIFO, unlinked at once): the write end for a child's stdout, the read end as a stream. */
function kernelPipe(): { writeFd: number; reader: net.Socket } {
  const dir = mkdtempSync(join(tmpdir(), 'dvb-pipe-'));
  try {
    const path = join(dir, 'stdout');
    execFileSync('mkfifo', [path], { stdio: 'ignore', timeout: 10_000 });
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    return { writeFd, reader: new net.Socket({ fd: readFd, readable: true, writable: false }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line saying how a run that should have succeeded ended. */
export function describeFailure(what: string, run: TimedRun): string {
  const how = run.signal ? `was killed (${run.signal})` : `exited ${run.code}`;
  const detail = run.stderr.trim().split('\n').filter(Boolean).join('; ').slice(0, 300);
  return `${what} ${how}${detail ? `: ${detail}` : ''}`;
}
