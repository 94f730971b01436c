import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file.ts';
import type { VmRef } from './vm-status.ts';

/**
 * Each of a command's output streams is kept up to this many bytes; the rest is dropped. Reports travel in
 * one UDP message (OpenNebula's EXEC_VM): two streams of this size, base64 and compressed, stay well inside one.
 */
export const COMMAND_OUTPUT_LIMIT = 8 * 1024;

/** A command run in a VM, as kept in the state directory from its start until a front-end has been told how it ended. */
export interface CommandRecord {
  ref: VmRef;
  execId: string;
  /** The process that waits for the command and keeps its output. */
  watcherPid: number;
  /** Its input, base64, until the watcher has handed it over. */
  stdin?: string;
  /** The command's process on the host, while it runs. */
  pid?: number;
  ended?: { exitCode: number; stdout: string; stderr: string };
}

/** How a command ended, as front-ends report it: the output base64, each stream cut at COMMAND_OUTPUT_LIMIT bytes. */
export interface FinishedCommand {
  ref: VmRef;
  pid: number;
  /** 'done' when it ran to its end, 'error' when nobody could wait for it to the end (its watcher died). */
  status: 'done' | 'error';
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The commands run in VMs, one file per VM in `<user state directory>/commands`: written by the action that
 * starts a command and by its watcher, read by the probe that reports how commands ended.
 */
export class CommandRecords {
  private made: string | undefined;

  constructor(private readonly stateDir: () => string) {}

  read(containerName: string): CommandRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.path(containerName), 'utf8')) as CommandRecord;
    } catch {
      return undefined;
    }
  }

  write(containerName: string, record: CommandRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomically(this.path(containerName), JSON.stringify(record), 0o600);
  }

  /**
   * The commands that have ended since the last call (each handed over once), and those whose watcher died:
   * as many as fit in `budget` bytes of output (base64), and always one; the others wait for the next call.
   */
  takeFinished(budget = Infinity): FinishedCommand[] {
    const finished: FinishedCommand[] = [];
    let spent = 0;
    for (const containerName of this.names()) {
      const record = this.read(containerName);
      const size = (record?.ended?.stdout.length ?? 0) + (record?.ended?.stderr.length ?? 0);
      if (finished.length > 0 && spent + size > budget) continue;
      spent += size;
      if (!record) continue;
      if (record.ended) {
        finished.push({ ref: record.ref, pid: record.pid ?? 0, status: 'done', ...record.ended });
      } else if (!this.watcherAlive(record)) {
        const why = Buffer.from('the command was left without its watcher; how it ended is unknown\n').toString('base64');
        finished.push({ ref: record.ref, pid: record.pid ?? 0, status: 'error', exitCode: -1, stdout: '', stderr: why });
      } else continue;
      rmSync(this.path(containerName), { force: true });
    }
    return finished;
  }

  /** Forgets the VM's command (the VM is gone). */
  forget(containerName: string): void {
    rmSync(this.path(containerName), { force: true });
  }

  watcherAlive(record: CommandRecord): boolean {
    try {
      process.kill(record.watcherPid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => name.slice(0, -5));
    } catch {
      return [];
    }
  }

  private get dir(): string {
    return (this.made ??= join(this.stateDir(), 'commands'));
  }

  private path(containerName: string): string {
    return join(this.dir, `${containerName}.json`);
  }
}
