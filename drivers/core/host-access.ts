import { existsSync, readFileSync } from 'node:fs';
import type { CommandRunner } from './command-runner.ts';
import { sysfsLinks, type HostLinks } from './host-links.ts';

export interface RunOptions {
  /** Run with root rights (the host's root prefix, or sudo on a remote host). */
  root?: boolean;
  /** Written to the command's stdin. */
  input?: string;
}

/**
 * What the core does on a host besides talking to its engine: run argv arrays (never a shell string),
 * read small files such as /proc entries, test paths, and see the host's network links. The local
 * implementation is this machine; a remote one goes over SSH (drivers/hosts/ssh-host-access.ts).
 * A command that runs and fails rejects with a CommandError, whichever the implementation.
 */
export interface HostAccess {
  /** The host as messages name it. */
  readonly name: string;
  /** True when the host is the machine this process runs on (its files and descriptors are the host's). */
  readonly local: boolean;
  readonly links: HostLinks;
  run(argv: string[], options?: RunOptions): Promise<string>;
  /** The file's contents; rejects when it is missing or unreadable. */
  readFile(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  close(): Promise<void>;
}

/** This machine: commands through the CommandRunner, files read directly (a few microseconds, no process). */
export class LocalHostAccess implements HostAccess {
  readonly name = 'this host';
  readonly local = true;
  readonly links: HostLinks = sysfsLinks();

  constructor(private readonly commands: CommandRunner) {}

  run(argv: string[], options: RunOptions = {}): Promise<string> {
    return options.root ? this.commands.asRoot(argv, options.input) : this.commands.run(argv, options.input);
  }

  async readFile(path: string): Promise<string> {
    return readFileSync(path, 'utf8');
  }

  async exists(path: string): Promise<boolean> {
    return existsSync(path);
  }

  async close(): Promise<void> {}
}
