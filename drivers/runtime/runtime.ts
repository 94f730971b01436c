import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_LAYOUT } from './package-layout.ts';
import pinned from './runtime.json' with { type: 'json' };

const run = promisify(execFile);

/** The pinned runtime cannot be had or is not what was pinned; nothing was installed. */
export class RuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/**
 * The Node.js runtime dockvisor ships, the same on the front-end and every host: the official binaries the
 * npm registry publishes as node-linux-<arch>, pinned by version, package integrity and the node binary's
 * sha256. It lives in its own directory and never replaces a node the system has.
 */
export const RUNTIME_VERSION: string = pinned.version;
export const SYSTEM_RUNTIME_DIR = `/${PACKAGE_LAYOUT.runtime}`;

export type RuntimeArch = keyof typeof pinned.architectures;

/** The runtime's architecture for what `uname -m`, Debian or Node call a machine; undefined for one it does not ship. */
export function runtimeArch(machine: string): RuntimeArch | undefined {
  if (['x86_64', 'amd64', 'x64'].includes(machine)) return 'x64';
  if (['aarch64', 'arm64'].includes(machine)) return 'arm64';
  return undefined;
}

export function debianArch(arch: RuntimeArch): 'amd64' | 'arm64' {
  return arch === 'x64' ? 'amd64' : 'arm64';
}

export function pinnedRuntime(arch: RuntimeArch): { package: string; integrity: string; nodeSha256: string } {
  return pinned.architectures[arch];
}

/** True when `dir` holds the pinned runtime for `arch`, byte for byte. */
export async function runtimeIsInstalled(dir: string, arch: RuntimeArch): Promise<boolean> {
  const node = join(dir, 'bin/node');
  return existsSync(node) && (await fileDigest(node, 'sha256', 'hex')) === pinnedRuntime(arch).nodeSha256;
}

/**
 * Installs the pinned runtime for `arch` into `dir` (its bin/node and licence), replacing whatever runtime
 * was there; the package comes from `cacheDir`, fetched with `npm pack` when it is not there, and is checked
 * against the pinned integrity before anything is unpacked.
 */
export async function installRuntime(dir: string, arch: RuntimeArch, cacheDir = runtimeCacheDir()): Promise<void> {
  const archive = await runtimePackage(arch, cacheDir);
  const staging = `${dir}.new-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o755 });
  try {
    await run('tar', ['-xzf', archive, '-C', staging, '--no-same-owner', '--strip-components=1', 'package/bin/node', 'package/LICENSE']);
    if (!(await runtimeIsInstalled(staging, arch))) throw new RuntimeError(`the node binary in ${archive} is not the pinned one`);
    const retired = `${dir}.old-${process.pid}`;
    if (existsSync(dir)) renameSync(dir, retired);
    renameSync(staging, dir);
    rmSync(retired, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A directory on this machine holding the verified runtime for `arch`: the system's own, or one in the cache. */
export async function localRuntimeDir(arch: RuntimeArch, cacheDir = runtimeCacheDir()): Promise<string> {
  if (await runtimeIsInstalled(SYSTEM_RUNTIME_DIR, arch)) return SYSTEM_RUNTIME_DIR;
  const cached = join(cacheDir, `node-${RUNTIME_VERSION}-${arch}`);
  if (!(await runtimeIsInstalled(cached, arch))) await installRuntime(cached, arch, cacheDir);
  return cached;
}

export function runtimeCacheDir(): string {
  if (process.getuid?.() === 0) return '/var/cache/dockvisor';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'dockvisor');
}

/** The verified npm package of the runtime for `arch`, fetched into the cache when missing or not the pinned one. */
async function runtimePackage(arch: RuntimeArch, cacheDir: string): Promise<string> {
  const { package: name, integrity } = pinnedRuntime(arch);
  const archive = join(cacheDir, `${name}-${RUNTIME_VERSION}.tgz`);
  if (existsSync(archive) && (await packageIntegrity(archive)) === integrity) return archive;
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const fetching = join(cacheDir, `fetch-${process.pid}`);
  rmSync(fetching, { recursive: true, force: true });
  mkdirSync(fetching);
  try {
    await run('npm', ['pack', `${name}@${RUNTIME_VERSION}`, '--pack-destination', fetching, '--silent'], { maxBuffer: 1 << 20 }).catch((error: Error) => {
      throw new RuntimeError(
        `cannot fetch ${name}@${RUNTIME_VERSION} with npm (${error.message.split('\n')[0]}); on a machine without npm, copy ${name}-${RUNTIME_VERSION}.tgz into ${cacheDir}`,
      );
    });
    const [packed] = readdirSync(fetching);
    if (!packed) throw new RuntimeError(`npm pack ${name}@${RUNTIME_VERSION} wrote nothing`);
    if ((await packageIntegrity(join(fetching, packed))) !== integrity)
      throw new RuntimeError(`${name}@${RUNTIME_VERSION} does not have the pinned integrity; refused`);
    renameSync(join(fetching, packed), archive);
    return archive;
  } finally {
    rmSync(fetching, { recursive: true, force: true });
  }
}

async function packageIntegrity(file: string): Promise<string> {
  return `sha512-${await fileDigest(file, 'sha512', 'base64')}`;
}

function fileDigest(file: string, algorithm: string, encoding: 'hex' | 'base64'): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash(algorithm);
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest(encoding)));
  });
}
