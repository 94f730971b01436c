import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import type { ContainerInspect } from '../engine/types.ts';
import { InvalidInputError, NotSupportedError, VmConflictError } from './errors.ts';
import type { HostAccess } from './host-access.ts';
import type { HostSettings } from './host-settings.ts';
import { prepareUserStateDir, userStateDir } from './state-dir.ts';
import { tarArchive } from './tar-archive.ts';
import type { VmSpec, VolumeMount } from './vm-spec.ts';

/** Where, inside a VM that takes hot-plugged disks, its host directory shows (read-only, slave propagation). */
export const HOTPLUG_MOUNT = '/.dockvisor-hotplug';

/** Mount points no disk may take: the kernel's and the engine's own trees, and the hot-plug directory. */
const RESERVED = ['/proc', '/sys', '/dev', HOTPLUG_MOUNT];

/**
 * A disk hot-plugged into a running VM, without a restart. A container's mounts are fixed when it is
 * created, and a volume's directory on the host is not visible in the container's mount namespace. So
 * every VM that can take disks is created with one bind of its own host directory
 * (`<stateDir>/<uid>/hotplug/<container>`) at HOTPLUG_MOUNT with slave propagation: a mount made below that
 * directory on the host appears inside. Attach binds the volume's directory there, binds it again inside
 * the container's mount namespace at the disk's mount point (`mount -N <pid>`: util-linux enters the namespace
 * for the mount call alone and runs nothing of the VM's), then takes the host bind away, which also takes its
 * copy under HOTPLUG_MOUNT away: what stays is one mount at the disk's mount point, owned by the container's
 * namespace, gone with it. Each start mounts again the disks the container was not created with.
 */
export class DiskHotplug {
  private readonly root: string;

  constructor(
    private readonly engine: Engine,
    private readonly access: HostAccess,
    private readonly config: Pick<HostSettings, 'stateDir'>,
  ) {
    this.root = hotplugRoot(config);
  }

  /**
   * Before a VM's container starts: the engine refuses a slave bind whose source is on a private mount (as
   * `/` is on hosts without systemd), so the hot-plug root is a shared mount of its own (again after a reboot).
   */
  async prepare(spec: VmSpec): Promise<void> {
    if (!spec.diskHotplug) return;
    if (!this.access.local) throw new NotSupportedError(`VM ${spec.vmId}: disk hot-plug is supported only where dockvisor runs on the host itself`);
    prepareUserStateDir(this.config);
    mkdirSync(posix.join(this.root, spec.containerName), { recursive: true, mode: 0o700 });
    const line = mountInfo('/proc/self/mountinfo').find((entry) => entry.mountPoint === this.root);
    if (!line) await this.access.run(['mount', '--no-canonicalize', '--bind', this.root, this.root], { root: true });
    if (!line?.shared) await this.access.run(['mount', '--no-canonicalize', '--make-shared', this.root], { root: true });
  }

  /** Mounts the disk at its mount point inside the running container; one already there is left as it is. */
  async plug(spec: VmSpec, container: ContainerInspect, disk: VolumeMount): Promise<void> {
    const pid = this.runningPid(spec, container);
    refuseReserved(spec, disk.containerPath);
    const source = await this.engine.volumeMountpoint(disk.volume);
    if (await this.mounted(pid, disk, source)) return;
    await this.makeMountPoint(spec, disk.containerPath);
    await this.prepare(spec);
    const staging = posix.join(this.root, spec.containerName, disk.volume);
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    await this.access.run(['mount', '--no-canonicalize', '--bind', source, staging], { root: true });
    try {
      // The mount point is resolved inside the container's mount namespace, below its root: a link the VM puts
      // on the path after the check above can only lead elsewhere inside the VM.
      const inside = ['mount', '-N', String(pid), '--no-canonicalize'];
      await this.access.run([...inside, '--bind', posix.join(HOTPLUG_MOUNT, disk.volume), disk.containerPath], { root: true });
      if (disk.readOnly) await this.access.run([...inside, '-o', 'remount,bind,ro', disk.containerPath], { root: true });
    } finally {
      await this.access.run(['umount', '--no-canonicalize', staging], { root: true });
      rmdirSync(staging);
    }
  }

  /** Unmounts the disk inside the running container; a stopped one has nothing mounted. */
  async unplug(spec: VmSpec, container: ContainerInspect, disk: VolumeMount): Promise<void> {
    if (!container.State.Running || container.State.Pid <= 0) return;
    if ((container.HostConfig.Mounts ?? []).some((mount) => mount.Source === disk.volume)) {
      throw new VmConflictError(
        `VM ${spec.vmId}: disk volume ${disk.volume} was mounted when the container was made and cannot be detached while the VM runs; detach it with the VM powered off`,
      );
    }
    const source = await this.engine.volumeMountpoint(disk.volume);
    // umount(8) with --no-canonicalize looks for the path outside the namespace it is given, so it may canonicalize:
    // it does so inside the container's namespace, below the container's root.
    while (await this.mounted(container.State.Pid, disk, source)) {
      await this.access.run(['umount', '-N', String(container.State.Pid), disk.containerPath], { root: true });
    }
  }

  /** After a start: the VM's disks that its container was not made with (attached since) are mounted again. */
  async plugAttached(spec: VmSpec, container: ContainerInspect): Promise<void> {
    if (!spec.diskHotplug || !takesHotplug(container)) return;
    const madeWith = new Set((container.HostConfig.Mounts ?? []).map((mount) => mount.Source));
    for (const disk of spec.volumes ?? []) {
      if (madeWith.has(disk.volume)) continue;
      if (!(await this.engine.volumeExists(disk.volume))) {
        if (disk.optional) continue;
        throw new InvalidInputError(`VM ${spec.vmId}: volume ${disk.volume} for ${disk.containerPath} is not on this host (its disk was not transferred here)`);
      }
      await this.plug(spec, container, disk);
    }
  }

  /** Refuses a VM whose container was made without the hot-plug directory (by an earlier dockvisor, or under a sandbox runtime). */
  requireHotplug(spec: VmSpec, container: ContainerInspect): void {
    if (!spec.diskHotplug || !takesHotplug(container)) {
      throw new NotSupportedError(
        `VM ${spec.vmId}: container ${spec.containerName} was made without a hot-plug directory (an earlier dockvisor, or a sandbox runtime); its disks change only while it is powered off`,
      );
    }
  }

  /**
   * Removes the VM's host directory once its container is stopped or gone (prepare makes it again before a start);
   * a staging bind left by a run that died half-way is unmounted first.
   */
  async release(containerName: string): Promise<void> {
    const dir = posix.join(this.root, containerName);
    if (!this.access.local || !existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const staging = posix.join(dir, entry);
      while (mountInfo('/proc/self/mountinfo').some((m) => m.mountPoint === staging)) {
        await this.access.run(['umount', '--no-canonicalize', staging], { root: true });
      }
      rmdirSync(staging);
    }
    rmdirSync(dir);
  }

  private runningPid(spec: VmSpec, container: ContainerInspect): number {
    if (!container.State.Running || container.State.Pid <= 0) {
      throw new VmConflictError(`VM ${spec.vmId}: container ${spec.containerName} is not running`);
    }
    return container.State.Pid;
  }

  /** Whether the volume's directory is mounted at the disk's mount point in the process's mount namespace. */
  private async mounted(pid: number, disk: VolumeMount, source: string): Promise<boolean> {
    const lines = parseMountInfo(await this.access.readFile(`/proc/${pid}/mountinfo`));
    return lines.some((entry) => entry.mountPoint === disk.containerPath && entry.root !== '/' && source.endsWith(entry.root));
  }

  /**
   * The mount point as the engine sees it inside the container: each component a directory, none a symbolic
   * link (refused with one line, nothing changed); missing ones are made through the engine's archive upload.
   */
  private async makeMountPoint(spec: VmSpec, target: string): Promise<void> {
    const missing: string[] = [];
    let path = '';
    for (const component of target.split('/').filter(Boolean)) {
      path += `/${component}`;
      if (missing.length) {
        missing.push(path);
        continue;
      }
      const stat = await this.engine.statPath(spec.containerName, path);
      if (!stat) missing.push(path);
      else if (modeBit(stat.mode, 27)) {
        throw new InvalidInputError(`VM ${spec.vmId}: disk mount point ${target} is refused: ${path} is a symbolic link inside the VM`);
      } else if (!modeBit(stat.mode, 31)) throw new InvalidInputError(`VM ${spec.vmId}: disk mount point ${target} is refused: ${path} is not a directory`);
    }
    if (missing.length) {
      await this.engine.putArchive(spec.containerName, '/', tarArchive(missing.map((dir) => ({ name: dir.slice(1), directory: true }))));
    }
  }
}

/** The bind that gives a VM its hot-plug directory, in the engine's `Binds` form. */
export function diskHotplugBind(config: Pick<HostSettings, 'stateDir'>, containerName: string): string {
  return `${posix.join(hotplugRoot(config), containerName)}:${HOTPLUG_MOUNT}:ro,rslave`;
}

function takesHotplug(container: ContainerInspect): boolean {
  return (container.HostConfig.Binds ?? []).some((bind) => bind.split(':')[1] === HOTPLUG_MOUNT);
}

function hotplugRoot(config: Pick<HostSettings, 'stateDir'>): string {
  return posix.join(userStateDir(config), 'hotplug');
}

function refuseReserved(spec: VmSpec, target: string): void {
  const normal = posix.normalize(target);
  if (!target.startsWith('/') || normal !== target || target.split('/').includes('..')) {
    throw new InvalidInputError(`VM ${spec.vmId}: disk mount point "${target.slice(0, 80)}" is not a plain absolute path`);
  }
  if (target === '/' || RESERVED.some((reserved) => target === reserved || target.startsWith(`${reserved}/`))) {
    throw new InvalidInputError(`VM ${spec.vmId}: disk mount point ${target} is refused: ${RESERVED.join(', ')} and / are not for disks`);
  }
}

/** Go's FileMode keeps the file type in high bits (27: symbolic link, 31: directory), past JavaScript's 32-bit operators. */
function modeBit(mode: number, bit: number): boolean {
  return Math.floor(mode / 2 ** bit) % 2 === 1;
}

interface MountInfoEntry {
  root: string;
  mountPoint: string;
  shared: boolean;
}

function mountInfo(path: string): MountInfoEntry[] {
  return parseMountInfo(readFileSync(path, 'utf8'));
}

/** /proc/<pid>/mountinfo: the root within its filesystem and the mount point (octal escapes decoded), and whether it is shared. */
function parseMountInfo(text: string): MountInfoEntry[] {
  const decode = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const optional = fields.slice(6, fields.indexOf('-'));
      return { root: decode(fields[3] ?? ''), mountPoint: decode(fields[4] ?? ''), shared: optional.some((tag) => tag.startsWith('shared:')) };
    });
}
