import type { Engine } from '../engine/engine.ts';
import { COMMAND_OUTPUT_LIMIT, CommandRecords, type CommandRecord } from './command-records.ts';
import { InvalidInputError, VmConflictError } from './errors.ts';
import type { HostAccess } from './host-access.ts';
import { pollUntil } from './poll.ts';
import { printable } from './validate.ts';
import type { VmRef } from './vm-status.ts';

/** How long exec_cancel waits for a command its watcher has not started yet. */
const CANCEL_WAIT_MS = 10_000;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Commands run inside a VM without a shell on the host (a front-end's `exec`): the engine runs the argv in the
 * container, as the container's own user and limits. A command runs detached: `start` returns once it is
 * created, a watcher process started by `detach` runs it and keeps its output, and `takeFinished` hands
 * finished ones over once. One command per VM at a time.
 */
export class VmCommands {
  private readonly records: CommandRecords;

  constructor(
    private readonly engine: Engine,
    private readonly access: HostAccess,
    /** The user's state directory, made and checked when first needed. */
    stateDir: () => string,
  ) {
    this.records = new CommandRecords(stateDir);
  }

  /** Creates the command in the running VM and hands it to `detach`, which starts its watcher with the VM's container name. */
  async start(ref: VmRef, argv: string[], stdin: Buffer | undefined, detach: (containerName: string) => number): Promise<void> {
    if (argv.length === 0 || argv[0] === '') throw new InvalidInputError(`VM ${ref.vmId}: no command to run`);
    const container = await this.engine.findContainer(ref.containerName);
    if (!container?.State.Running || container.State.Paused) throw new VmConflictError(`VM ${ref.vmId} is not running: a command needs it running`);
    const previous = this.records.read(ref.containerName);
    if (previous && !previous.ended && this.records.watcherAlive(previous)) {
      throw new VmConflictError(`VM ${ref.vmId}: a command is still running in it; exec_cancel stops it`);
    }
    const executable = await this.findExecutable(ref.containerName, argv[0]!, container.Config.Env ?? []);
    if (!executable) throw new InvalidInputError(`VM ${ref.vmId} has no command ${printable(argv[0]!)}`);
    const execId = await this.engine.createExec(ref.containerName, argv, stdin !== undefined);
    // The watcher is started first so that the record names it from the moment it exists; it waits for the record.
    const watcherPid = detach(ref.containerName);
    this.records.write(ref.containerName, { ref, execId, watcherPid, ...(stdin ? { stdin: stdin.toString('base64') } : {}) });
  }

  /** The watcher's work: waits for its record, runs the command to its end and records how it ended. */
  async watch(containerName: string): Promise<void> {
    let record: CommandRecord | undefined;
    const mine = () => ((record = this.records.read(containerName)), record?.watcherPid === process.pid && !record.ended);
    if (!(await pollUntil(async () => mine(), { timeoutMs: 5000, intervalMs: 20 }))) return;
    const { execId } = record!;
    const stdin = record!.stdin === undefined ? undefined : Buffer.from(record!.stdin, 'base64');
    this.records.write(containerName, { ...record!, stdin: undefined });
    const kept = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    await this.engine.runExec(execId, stdin, (stream, chunk) => {
      const piece = chunk.subarray(0, Math.max(0, COMMAND_OUTPUT_LIMIT - sizes[stream]));
      kept[stream].push(piece);
      sizes[stream] += piece.length;
    });
    const state = await this.engine.inspectExec(execId);
    this.records.write(containerName, {
      ...this.records.read(containerName)!,
      pid: state.pid,
      ended: { exitCode: state.exitCode ?? -1, stdout: Buffer.concat(kept.stdout).toString('base64'), stderr: Buffer.concat(kept.stderr).toString('base64') },
    });
  }

  /** Kills the VM's running command; with none running there is nothing to do. */
  async cancel(ref: VmRef): Promise<void> {
    const { execId } = this.records.read(ref.containerName) ?? {};
    if (!execId) return;
    // A command cancelled right after exec may not have been started by its watcher yet: it is waited for (bounded)
    // until it runs, ends, or its watcher is gone.
    const running = await pollUntil(
      async () => {
        const record = this.records.read(ref.containerName);
        if (!record || record.execId !== execId || record.ended || !this.records.watcherAlive(record)) return 'gone';
        const state = await this.engine.inspectExec(execId).catch(() => undefined);
        return state?.running && state.pid > 0 ? state : undefined;
      },
      { timeoutMs: CANCEL_WAIT_MS, intervalMs: 50 },
    );
    // The engine vouches for the pid only while it says the command runs: that is the only time it is killed.
    if (running && running !== 'gone') await this.access.run(['kill', '-KILL', String(running.pid)], { root: true });
  }

  private async findExecutable(containerName: string, command: string, env: string[]): Promise<string | undefined> {
    if (command.includes('/')) return (await this.engine.pathExists(containerName, command)) ? command : undefined;
    const path = env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
    for (const dir of path.split(':').filter((entry) => entry.startsWith('/'))) {
      const candidate = `${dir.replace(/\/+$/, '')}/${command}`;
      if (await this.engine.pathExists(containerName, candidate)) return candidate;
    }
    return undefined;
  }
}
