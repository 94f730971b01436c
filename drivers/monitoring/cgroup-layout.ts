import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupVersion = 1 | 2;

/** Where a container's cgroup lives, for cgroup v1 and v2 and for the cgroupfs and systemd drivers. */
export class CgroupLayout {
  readonly version: CgroupVersion;
  private pattern: ((id: string) => string) | undefined;

  constructor(readonly root = '/sys/fs/cgroup') {
    this.version = existsSync(join(root, 'cgroup.controllers')) ? 2 : 1;
  }

  /** The directory of `controller` (v1; ignored on v2) for a container id, or undefined when it has none. */
  containerDir(id: string, controller: 'cpuacct' | 'memory' | 'blkio' | 'pids'): string | undefined {
    const base = this.version === 2 ? this.root : this.controllerRoot(controller);
    if (!base) return undefined;
    if (this.pattern) {
      const dir = join(base, this.pattern(id));
      if (existsSync(dir)) return dir;
    }
    for (const candidate of CANDIDATES) {
      const dir = join(base, candidate(id));
      if (existsSync(dir)) {
        this.pattern = candidate; // one engine uses one layout: the next containers are found at once
        return dir;
      }
    }
    return undefined;
  }

  private readonly controllerRoots = new Map<string, string | undefined>();

  private controllerRoot(controller: string): string | undefined {
    if (!this.controllerRoots.has(controller)) {
      const names = controller === 'cpuacct' ? ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu'] : [controller];
      this.controllerRoots.set(
        controller,
        names.map((name) => join(this.root, name)).find((dir) => existsSync(dir)),
      );
    }
    return this.controllerRoots.get(controller);
  }
}

/** cgroupfs driver (docker/<id>) and systemd driver (system.slice/docker-<id>.scope). */
const CANDIDATES: ((id: string) => string)[] = [(id) => join('docker', id), (id) => join('system.slice', `docker-${id}.scope`)];

/** The cgroup version mounted on the host, as OpenNebula's CGROUPS_VERSION reports it (v1 wins in hybrid mode). */
export function hostCgroupVersion(mounts = '/proc/mounts'): CgroupVersion | undefined {
  const types = new Set(
    readFileSync(mounts, 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[2]),
  );
  if (types.has('cgroup')) return 1;
  if (types.has('cgroup2')) return 2;
  return undefined;
}
