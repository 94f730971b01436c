import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/**
 * Runs host commands as argv arrays (never a shell string), with the root prefix when asked,
 * a timeout, and a one-line error naming what failed.
 */
export class CommandRunner {
  constructor(
    private readonly rootPrefix: string[],
    private readonly timeoutMs = 30_000,
  ) {}

  asRoot(argv: string[], input?: string): Promise<string> {
    return this.run(argv, input, this.rootPrefix);
  }

  run(command: string[], input?: string, prefix: string[] = []): Promise<string> {
    const [file, ...args] = [...prefix, ...command];
    if (!file) return Promise.reject(new CommandError('empty command'));
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: this.timeoutMs, killSignal: 'SIGKILL' });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.on('error', (error) => reject(new CommandError(`${file}: ${error.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
        const detail = Buffer.concat(err).toString('utf8').trim().split('\n').filter(Boolean).join('; ').slice(0, 400);
        const how = signal ? `was killed (${signal})` : `exited ${code}`;
        reject(new CommandError(`${command.join(' ').slice(0, 200)} ${how}${detail ? `: ${detail}` : ''}`));
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
  }
}
