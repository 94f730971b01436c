import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EngineClient } from '../../drivers/engine/engine-client.ts';
import { BASE_IMAGE, ENGINE_SOCKET } from './paths.ts';

/**
 * A second Docker engine for tests that must restart one: its own network namespace, data and exec
 * roots, socket and pid file, so the machine's engine and the tests using it are not disturbed.
 */
export class SecondEngine {
  readonly socket: string;
  private readonly dataRoot: string;
  private readonly execRoot: string;
  private readonly pidFile: string;
  /** Its own daemon.json: never the machine's /etc/docker/daemon.json, which the machine's engine reads. */
  readonly configFile: string;
  private readonly netns: string;
  private daemon: ChildProcess | undefined;

  /** With `sharedNetns`, the engine runs in that existing namespace (a test host's) and leaves it alone. */
  constructor(
    readonly name: string,
    private readonly bridgeAddress: string,
    private readonly extraArgs: string[] = [],
    private readonly sharedNetns?: string,
  ) {
    this.socket = `/run/${name}.sock`;
    this.dataRoot = `/var/lib/${name}`;
    this.execRoot = `/run/${name}`;
    this.pidFile = `/run/${name}.pid`;
    this.configFile = `/run/${name}.json`;
    this.netns = sharedNetns ?? name;
  }

  client(): EngineClient {
    return new EngineClient({ kind: 'unix', socketPath: this.socket }, { timeoutMs: 10_000 });
  }

  /** Starts the engine (removing what an earlier run left) and gives it the base image. */
  async start(): Promise<void> {
    await this.stop();
    this.removeData();
    if (!this.sharedNetns) execFileSync('ip', ['netns', 'add', this.netns]);
    await this.launch();
    execFileSync('sh', [
      '-c',
      `curl -fsS --unix-socket ${ENGINE_SOCKET} "http://engine/images/${encodeURIComponent(BASE_IMAGE)}/get" | curl -fsS --unix-socket ${this.socket} -X POST -H 'Content-Type: application/x-tar' --data-binary @- http://engine/images/load >/dev/null`,
    ]);
  }

  /** Stops the engine with SIGTERM (live-restore keeps containers running) and starts it again. */
  async restart(): Promise<void> {
    await this.terminateDaemon();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.terminateDaemon();
    if (!this.sharedNetns && existsSync(`/var/run/netns/${this.netns}`)) execFileSync('ip', ['netns', 'del', this.netns]);
  }

  /** Removes the engine's data after `stop` (its containers must be gone first). */
  removeData(): void {
    // dockerd leaves its data root bind-mounted onto itself.
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '');
    const ours = mounts.filter((point) => point.startsWith(this.dataRoot) || point.startsWith(this.execRoot));
    for (const point of ours.sort((a, b) => b.length - a.length)) execFileSync('umount', ['-l', point]);
    rmSync(this.dataRoot, { recursive: true, force: true });
    rmSync(this.execRoot, { recursive: true, force: true });
    rmSync(this.configFile, { force: true });
  }

  private async launch(): Promise<void> {
    mkdirSync(this.execRoot, { recursive: true });
    if (!existsSync(this.configFile)) writeFileSync(this.configFile, '{}\n');
    // nsenter rather than `ip netns exec`, which remounts /sys and hides the cgroup mounts from dockerd.
    this.daemon = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${this.netns}`,
        'dockerd',
        `--data-root=${this.dataRoot}`,
        `--exec-root=${this.execRoot}`,
        `--host=unix://${this.socket}`,
        `--pidfile=${this.pidFile}`,
        `--config-file=${this.configFile}`,
        `--bip=${this.bridgeAddress}`,
        ...this.extraArgs,
      ],
      { stdio: 'ignore', detached: true },
    );
    this.daemon.unref();
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        execFileSync('curl', ['-fsS', '--max-time', '2', '--unix-socket', this.socket, 'http://engine/_ping'], { stdio: 'ignore' });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`the test engine ${this.name} did not start within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private async terminateDaemon(): Promise<void> {
    const pid = existsSync(this.pidFile) ? Number(readFileSync(this.pidFile, 'utf8')) : this.daemon?.pid;
    if (!pid) return;
    // A pid file left by an earlier run may name a pid reused since (pid_max can be 32768): only our dockerd is stopped.
    if (!this.isOurDaemon(pid)) {
      rmSync(this.pidFile, { force: true });
      return;
    }
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 30_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (existsSync(`/proc/${pid}`) && this.isOurDaemon(pid)) process.kill(pid, 'SIGKILL');
    rmSync(this.pidFile, { force: true });
  }

  private isOurDaemon(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--host=unix://${this.socket}`);
    } catch {
      return false;
    }
  }
}
