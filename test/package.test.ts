import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOCKVISOR_VERSION } from '../drivers/cli/version.ts';
import { pinnedRuntime, RUNTIME_VERSION, SYSTEM_RUNTIME_DIR } from '../drivers/runtime/runtime.ts';
import { PACKAGE_LAYOUT } from '../drivers/runtime/package-layout.ts';
import { repoRoot } from './helpers/paths.ts';
import { cleanDebianRoot } from './helpers/debian-root.ts';

const run = promisify(execFile);
const deb = join(repoRoot, 'dist', `dockvisor_${DOCKVISOR_VERSION}_amd64.deb`);
const armDeb = join(repoRoot, 'dist', `dockvisor_${DOCKVISOR_VERSION}_arm64.deb`);
const tarball = join(repoRoot, 'dist', `dockvisor_${DOCKVISOR_VERSION}_amd64.tar.gz`);
let debianRoot: string;

test.before(async (t) => {
  t.timeout(25 * 60_000, 'dpkg-deb compresses two runtimes, debootstrap may have to make the Debian root');
  await run('npm', ['run', '--silent', 'package'], { cwd: repoRoot, maxBuffer: 1 << 24, timeout: 20 * 60_000 });
  debianRoot = await cleanDebianRoot(mkdtempSync('/var/tmp/dockvisor-debroot-'));
});
test.after.always(() => {
  if (debianRoot) rmSync(debianRoot, { recursive: true, force: true });
});

const inRoot = (...argv: string[]) =>
  run('chroot', [debianRoot, ...argv], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    maxBuffer: 1 << 24,
    timeout: 10 * 60_000,
  });

test.serial('npm run package makes an amd64 and an arm64 .deb and a tarball of the same tree, each with its own runtime', async (t) => {
  const contents = (file: string) => execFileSync('dpkg-deb', ['--contents', file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const amd64 = contents(deb);
  for (const path of [
    `${PACKAGE_LAYOUT.runtime}/bin/node`,
    `${PACKAGE_LAYOUT.remotes}/vmm/dockvisor/deploy`,
    `${PACKAGE_LAYOUT.remotes}/lib/dockvisor/vmm.mjs`,
    'usr/bin/dockvisor',
    PACKAGE_LAYOUT.hostConfig,
    PACKAGE_LAYOUT.transferConfig,
    `${PACKAGE_LAYOUT.nova}/install.sh`,
    `${PACKAGE_LAYOUT.doc}/README.md`,
  ]) {
    t.true(amd64.includes(`./${path}`), path);
  }
  t.regex(execFileSync('dpkg-deb', ['--field', armDeb, 'Architecture'], { encoding: 'utf8' }), /^arm64$/m);
  const tarFiles = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 1 << 24 })
    .split('\n')
    .filter((line) => line && !line.endsWith('/'));
  const debFiles = amd64
    .split('\n')
    .filter((line) => line && !line.startsWith('d'))
    .map((line) => line.split(/\s+/)[5]!);
  t.deepEqual(tarFiles.sort(), debFiles.sort(), 'the tarball holds the same files');
});

test.serial('lintian reports no errors', async (t) => {
  t.timeout(10 * 60_000);
  const result: { stdout: string; code?: number } = await run('lintian', ['--fail-on', 'error', '--no-tag-display-limit', deb], { maxBuffer: 1 << 24 }).catch(
    (error: { stdout: string; code: number }) => error,
  );
  t.is(result.code ?? 0, 0, result.stdout);
  t.notRegex(result.stdout, /^E: /m, result.stdout);
});

test.serial('apt-get installs it on a clean Debian root; remove leaves only its conffiles and purge removes them', async (t) => {
  t.timeout(15 * 60_000);
  copyFileSync(deb, join(debianRoot, 'tmp/dockvisor.deb'));
  await inRoot('apt-get', 'install', '-y', '-q', '--no-install-recommends', '/tmp/dockvisor.deb');
  t.is((await inRoot('dockvisor', '--version')).stdout.trim(), DOCKVISOR_VERSION);
  t.is((await inRoot(`${SYSTEM_RUNTIME_DIR}/bin/node`, '--version')).stdout.trim(), `v${RUNTIME_VERSION}`);
  const node = readFileSync(join(debianRoot, SYSTEM_RUNTIME_DIR, 'bin/node'));
  t.is(createHash('sha256').update(node).digest('hex'), pinnedRuntime('x64').nodeSha256, 'the pinned runtime, where the launchers look for it');
  // Every launcher sources launch.sh, which runs the pinned runtime (or hands the action to an agent).
  t.true(readFileSync(join(debianRoot, PACKAGE_LAYOUT.remotes, 'vmm/dockvisor/deploy'), 'utf8').includes('lib/dockvisor-launch/launch.sh'));
  t.true(readFileSync(join(debianRoot, PACKAGE_LAYOUT.remotes, 'lib/dockvisor-launch/launch.sh'), 'utf8').includes(`${SYSTEM_RUNTIME_DIR}/bin/node`));
  t.false(existsSync(join(debianRoot, 'usr/bin/node')), 'no node of the system is installed or replaced');

  // The installer of the package places the package's remotes on a front-end laid out like OpenNebula 7.4's.
  const fe = 'var/lib/one-test';
  mkdirSync(join(debianRoot, fe, 'remotes/im/kvm.d'), { recursive: true });
  mkdirSync(join(debianRoot, fe, 'etc'), { recursive: true });
  for (const name of ['monitord-client.rb', 'monitord-client_control.sh']) writeFileSync(join(debianRoot, fe, 'remotes/im/kvm.d', name), '#!/bin/sh\n');
  for (const name of ['oned.conf', 'monitord.conf'])
    copyFileSync(join(repoRoot, 'test/fixtures/opennebula-etc/7.4.0', name), join(debianRoot, fe, 'etc', name));
  const flags = ['--one-version', '7.4.0', '--remotes', `/${fe}/remotes`, '--oned-conf', `/${fe}/etc/oned.conf`, '--monitord-conf', `/${fe}/etc/monitord.conf`];
  await inRoot('dockvisor', 'opennebula', 'install', ...flags);
  t.true(existsSync(join(debianRoot, fe, 'remotes/vmm/dockvisor/deploy')));
  t.true(existsSync(join(debianRoot, fe, 'remotes/lib/dockvisor-launch/agent-client.py')), "the launchers' agent client, placed with them");
  t.true(existsSync(join(debianRoot, fe, 'remotes/vnm/vnmmad-load.d/dockvisor.rb')), 'the NIC class for the network drivers, from the package');
  t.true(
    readFileSync(join(debianRoot, fe, 'remotes/etc/vmm/dockvisor/dockvisor.conf'), 'utf8').includes('frontEndId'),
    "the package's default host configuration, with the front-end's identity",
  );
  t.regex(readFileSync(join(debianRoot, fe, 'etc/oned.conf'), 'utf8'), /LIVE_RESIZE {4}= "yes"/);

  await inRoot('apt-get', 'remove', '-y', '-q', 'dockvisor');
  t.regex((await inRoot('dpkg-query', '-W', '-f', '${db:Status-Abbrev}', 'dockvisor')).stdout, /^rc/);
  t.false(existsSync(join(debianRoot, 'usr/lib/dockvisor')));
  t.false(existsSync(join(debianRoot, 'usr/bin/dockvisor')));
  t.true(existsSync(join(debianRoot, PACKAGE_LAYOUT.hostConfig)), 'the configuration stays after remove');

  await inRoot('apt-get', 'purge', '-y', '-q', 'dockvisor');
  t.false(existsSync(join(debianRoot, 'etc/dockvisor')));
});
