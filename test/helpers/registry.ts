import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './paths.ts';

const REGISTRY = '/usr/bin/docker-registry';

/** A Docker registry (distribution v2, deletes enabled) on a loopback port of its own, storage under test/.state. */
export class TestRegistry {
  readonly storage: string;
  private daemon: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
  ) {
    this.storage = join(stateDir, `registry-${name}`, 'storage');
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await this.stop();
    const dir = join(stateDir, `registry-${this.name}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.storage, { recursive: true });
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${this.storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${this.address}\n`,
    );
    this.daemon = spawn(REGISTRY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.daemon.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    for (let i = 0; i < 80; i++) {
      if (await this.answers()) return;
      if (this.daemon.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`registry ${this.name} did not start on ${this.address}: ${stderr.slice(-400)}`);
  }

  async stop(): Promise<void> {
    const daemon = this.daemon;
    this.daemon = undefined;
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGTERM');
      await exited;
    }
  }

  /** Bytes of blob data on disk. */
  storedBytes(): number {
    return filesNamed(join(this.storage, 'docker/registry/v2/blobs'), 'data').reduce((sum, path) => sum + lstatSync(path).size, 0);
  }

  private async answers(): Promise<boolean> {
    try {
      const response = await fetch(`http://${this.address}/v2/`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      return response.status === 200;
    } catch {
      return false;
    }
  }
}

/** Layer and manifest links a repository holds in the registry's storage: 0 means nothing of it is left. */
export function repositoryLinks(registry: TestRegistry, repository: string): number {
  const root = join(registry.storage, 'docker/registry/v2/repositories', repository);
  return filesNamed(join(root, '_layers'), 'link').length + filesNamed(join(root, '_manifests/revisions'), 'link').length;
}

/** Paths of the files called `name` anywhere below `dir` (none when it does not exist). */
function filesNamed(dir: string, name: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry);
    if (lstatSync(path).isDirectory()) return filesNamed(path, name);
    return entry === name ? [path] : [];
  });
}
