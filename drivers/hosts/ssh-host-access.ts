import { CommandError } from '../core/command-runner.ts';
import { HostUnavailableError } from '../core/errors.ts';
import type { HostAccess, RunOptions } from '../core/host-access.ts';
import { netlinkLinks, type HostLinks } from '../core/host-links.ts';
import { connectToHost } from './host-connection.ts';
import type { HostRecord } from './host-store.ts';
import { shellCommand } from './shell-quote.ts';
import type { SshSession } from './ssh-session.ts';

/** sshd allows 10 sessions per connection by default: stay below, whatever the callers do at once. */
const MAX_CHANNELS = 8;

/**
 * A recorded host's commands and files over one SSH connection, opened on first use and again after
 * it drops. Root is the SSH user itself when that is root, else `sudo -n` on the very command, which
 * is what the sudoers rule of `dockvisor host provision` allows. Every call is bounded in time; an
 * unreachable host rejects with HostUnavailableError, a command that fails with CommandError.
 */
export class SshHostAccess implements HostAccess {
  readonly name: string;
  readonly local = false;
  readonly links: HostLinks = netlinkLinks(this);
  private session: Promise<SshSession> | undefined;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly record: HostRecord,
    private readonly timeoutMs: number,
  ) {
    this.name = `host ${record.name}`;
  }

  async run(argv: string[], options: RunOptions = {}): Promise<string> {
    if (argv.length === 0) throw new CommandError('empty command');
    const words = options.root && this.record.ssh.user !== 'root' ? ['sudo', '-n', '--', ...argv] : argv;
    const result = await this.exec(shellCommand(words), options.input);
    if (result.code === 0) return result.stdout;
    const detail = result.stderr.trim().split('\n').filter(Boolean).join('; ').slice(0, 400);
    throw new CommandError(`${argv.join(' ').slice(0, 200)} exited ${result.code} on ${this.name}${detail ? `: ${detail}` : ''}`);
  }

  readFile(path: string): Promise<string> {
    return this.run(['cat', '--', path]);
  }

  async exists(path: string): Promise<boolean> {
    const result = await this.exec(shellCommand(['test', '-e', path]));
    if (result.code > 1) throw new CommandError(`test -e ${path} exited ${result.code} on ${this.name}`);
    return result.code === 0;
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    (await session?.catch(() => undefined))?.close();
  }

  private async exec(command: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    await this.channelSlot();
    try {
      const session = await this.connection();
      return await session.run(command, { stdin, timeoutMs: this.timeoutMs });
    } catch (error) {
      throw error instanceof CommandError || error instanceof HostUnavailableError ? error : this.unavailable(error);
    } finally {
      this.releaseChannelSlot();
    }
  }

  private connection(): Promise<SshSession> {
    if (this.session) return this.session;
    const attempt = (async () => connectToHost(this.record, this.timeoutMs))();
    this.session = attempt;
    const forget = () => {
      if (this.session === attempt) this.session = undefined;
    };
    attempt.then((session) => session.connection.once('close', forget), forget);
    return attempt;
  }

  private async channelSlot(): Promise<void> {
    if (this.running < MAX_CHANNELS) this.running += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over as it is
  }

  private releaseChannelSlot(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }

  private unavailable(error: unknown): HostUnavailableError {
    const { user, address, port } = this.record.ssh;
    const reason = error instanceof Error ? error.message : String(error);
    return new HostUnavailableError(`${this.name} (${user}@${address}:${port}) cannot be reached: ${reason}`);
  }
}
