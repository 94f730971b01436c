import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { posix } from 'node:path';
import { InvalidInputError, NotSupportedError } from './errors.ts';
import type { HostAccess } from './host-access.ts';
import type { HostSettings } from './host-settings.ts';
import { prepareUserStateDir, userStateDir } from './state-dir.ts';
import type { VmSpec } from './vm-spec.ts';

/** Linux's O_PATH (the same on x86_64 and aarch64): a handle on a path that opens nothing. */
const O_PATH = 0o10000000;

/**
 * Host directories VM templates may mount (the host's `allow.hostMountRoots`) can be written by the VMs
 * that mount them, so a path below a root proves nothing: a VM can put a symbolic link there, or swap a
 * directory for one between a check and the engine's mount. So the engine never mounts what a template
 * names. dockvisor walks the path from `/` one component at a time without following links, holding
 * each component open, and bind-mounts the very directory (or file) it holds onto a staging path of its
 * own (`<stateDir>/<uid>/mounts/<container>/<n>`), which is what the container's bind names. Whatever a VM does
 * to the path after the walk, the staging mount is the checked object.
 */
export class HostMounts {
  private readonly stagingRoot: string;

  constructor(
    private readonly access: HostAccess,
    private readonly config: Pick<HostSettings, 'stateDir'>,
  ) {
    this.stagingRoot = hostMountStagingRoot(config);
  }

  /** Makes each of the VM's host mounts' staging path hold the checked object, anew (also after a host reboot). */
  async pin(spec: VmSpec): Promise<void> {
    const mounts = spec.privileges.hostMounts;
    if (mounts.length === 0) return;
    if (!this.access.local) throw new NotSupportedError(`VM ${spec.vmId}: host mounts are supported only where dockvisor runs on the host itself`);
    prepareUserStateDir(this.config);
    const staging = this.containerDir(spec.containerName);
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    const stagingReal = realpathSync(this.stagingRoot);
    for (const [index, mount] of mounts.entries()) {
      const target = posix.join(staging, String(index));
      await this.unmountIfMounted(target);
      removeMountPoint(target);
      const held = holdBeneathRoot(mount.hostPath, spec.vmId);
      try {
        if (overlaps(mount.hostPath, stagingReal)) {
          throw new InvalidInputError(
            `VM ${spec.vmId}: host path ${mount.hostPath} holds dockvisor's own mount staging (${stagingReal}); it cannot be mounted`,
          );
        }
        makeMountPoint(target, held.directory);
        await this.access.run(['mount', '--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${held.fd}`, target], { root: true });
      } finally {
        closeSync(held.fd);
      }
    }
  }

  /** Unmounts and removes the VM's staging paths; those of a VM that never had host mounts are not there. */
  async release(containerName: string): Promise<void> {
    const staging = this.containerDir(containerName);
    if (!existsSync(staging)) return;
    for (const entry of readdirSync(staging)) {
      const target = posix.join(staging, entry);
      await this.unmountIfMounted(target);
      removeMountPoint(target);
    }
    rmdirSync(staging);
  }

  private containerDir(containerName: string): string {
    return posix.join(this.stagingRoot, containerName);
  }

  private async unmountIfMounted(target: string): Promise<void> {
    while (mountPoints().has(target)) await this.access.run(['umount', '--no-canonicalize', target], { root: true });
  }
}

/** Where the VM's n-th host mount is staged: what its container's bind names. */
export function hostMountStaging(config: Pick<HostSettings, 'stateDir'>, containerName: string, index: number): string {
  return posix.join(hostMountStagingRoot(config), containerName, String(index));
}

/** In the user's own state directory: nobody else can put a link on the way to a mount point. */
function hostMountStagingRoot(config: Pick<HostSettings, 'stateDir'>): string {
  return posix.join(userStateDir(config), 'mounts');
}

/**
 * Opens `path` from `/` one component at a time, never following a symbolic link, and returns a handle
 * on what it names: a directory or a regular file. Since no link is followed, the path is the real one.
 */
function holdBeneathRoot(path: string, vmId: string): { fd: number; directory: boolean } {
  let fd = openSync('/', O_PATH | constants.O_DIRECTORY);
  let walked = '';
  try {
    for (const component of path.split('/').filter(Boolean)) {
      walked += `/${component}`;
      const next = openSync(`/proc/self/fd/${fd}/${component}`, O_PATH | constants.O_NOFOLLOW);
      closeSync(fd);
      fd = next;
      if (fstatSync(fd).isSymbolicLink()) {
        throw new InvalidInputError(`VM ${vmId}: host path ${path} is refused: ${walked} is a symbolic link (host mounts must name real paths)`);
      }
    }
    const stat = fstatSync(fd);
    if (!stat.isDirectory() && !stat.isFile()) throw new InvalidInputError(`VM ${vmId}: host path ${path} is neither a directory nor a regular file`);
    return { fd, directory: stat.isDirectory() };
  } catch (error) {
    closeSync(fd);
    if (error instanceof InvalidInputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      `VM ${vmId}: host path ${path} cannot be mounted: ${walked} ${code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? String(error)})`}`,
    );
  }
}

/** True when one path is the other or lies below it. */
function overlaps(a: string, b: string): boolean {
  const below = (inner: string, outer: string) => inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
  return below(a, b) || below(b, a);
}

/** An empty mount point of ours: never a recursive removal, which would reach into a mount still there. */
function removeMountPoint(target: string): void {
  const stat = lstatSync(target, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) rmdirSync(target);
  else unlinkSync(target);
}

function makeMountPoint(target: string, directory: boolean): void {
  if (directory) mkdirSync(target, { mode: 0o700 });
  else writeFileSync(target, '', { mode: 0o600, flag: 'wx' });
}

/** This machine's mount points, as /proc/self/mountinfo names them (octal escapes decoded). */
function mountPoints(): Set<string> {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  return new Set(
    lines
      .map((line) => line.split(' ')[4] ?? '')
      .filter(Boolean)
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))),
  );
}
