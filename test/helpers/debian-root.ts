import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CACHE = '/var/cache/dockvisor-tests';
const SUITE = 'bookworm';

/**
 * A clean Debian root in `dir` (debootstrap's minbase: no node, no dockvisor), made once from this machine's
 * own Debian mirror and kept as a tarball between runs. Needs debootstrap (scripts/setup.sh installs it).
 */
export async function cleanDebianRoot(dir: string): Promise<string> {
  const tarball = join(CACHE, `${SUITE}-minbase.tar`);
  if (!existsSync(tarball)) {
    mkdirSync(CACHE, { recursive: true });
    const building = join(CACHE, `building-${process.pid}`);
    await run('debootstrap', ['--variant=minbase', SUITE, building, configuredMirror()], { maxBuffer: 1 << 26, timeout: 20 * 60_000 });
    await run('tar', ['-cf', `${tarball}.new`, '-C', building, '.'], { maxBuffer: 1 << 20 });
    renameSync(`${tarball}.new`, tarball);
    await run('rm', ['-rf', building]);
  }
  await run('tar', ['-xf', tarball, '-C', dir]);
  copyFileSync('/etc/resolv.conf', join(dir, 'etc/resolv.conf'));
  return dir;
}

/** The Debian mirror this machine's apt uses (deb822 sources or the classic list). */
function configuredMirror(): string {
  const files = [
    '/etc/apt/sources.list',
    ...readdirSync('/etc/apt/sources.list.d')
      .filter((f) => /\.(list|sources)$/.test(f))
      .map((f) => join('/etc/apt/sources.list.d', f)),
  ];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/m.exec(text)?.[1];
    if (uri && !uri.includes('security')) return uri;
  }
  throw new Error('no Debian mirror in /etc/apt/sources.list*: debootstrap needs one');
}
