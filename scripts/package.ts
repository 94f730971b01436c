// `npm run package`: dockvisor_<version>_<arch>.deb (amd64, arm64) and a .tar.gz of the same tree, in dist/.
// Built with Debian's own dpkg-deb from the bundles (the remotes tree's, the CLI's and the demo's), dockvisor's
// pinned runtime for each architecture, the Nova shim, the default configurations (conffiles) and the README.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DOCKVISOR_VERSION } from '../drivers/cli/version.ts';
import { debianArch, localRuntimeDir, RUNTIME_VERSION, type RuntimeArch } from '../drivers/runtime/runtime.ts';
import { PACKAGE_LAYOUT } from '../drivers/runtime/package-layout.ts';

const repo = join(import.meta.dirname, '..');
const dist = join(repo, 'dist');
const wanted = (process.env.DOCKVISOR_PACKAGE_ARCHS ?? 'x64,arm64').split(',') as RuntimeArch[];

execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repo, stdio: 'inherit' });
mkdirSync(dist, { recursive: true });
for (const arch of wanted) {
  const stage = join(dist, `stage-${arch}`);
  rmSync(stage, { recursive: true, force: true });
  layOut(stage, await localRuntimeDir(arch));
  writeDebianControl(stage, arch);
  const name = `dockvisor_${DOCKVISOR_VERSION}_${debianArch(arch)}`;
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, join(dist, `${name}.deb`)], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('tar', ['-czf', join(dist, `${name}.tar.gz`), '--owner=0', '--group=0', '--exclude=./DEBIAN', '-C', stage, '.']);
  rmSync(stage, { recursive: true, force: true });
  process.stdout.write(`${join('dist', `${name}.deb`)}\n${join('dist', `${name}.tar.gz`)}\n`);
}

/** The package's files, as PACKAGE_LAYOUT places them. */
function layOut(stage: string, runtimeDir: string): void {
  const place = (from: string, to: string) => {
    mkdirSync(dirname(join(stage, to)), { recursive: true });
    // Python's bytecode caches are made where the driver is installed, never shipped.
    cpSync(from, join(stage, to), { recursive: true, verbatimSymlinks: true, filter: (source) => !/(^|\/)__pycache__(\/|$)|\.pyc$/.test(source) });
  };
  place(join(runtimeDir, 'bin/node'), `${PACKAGE_LAYOUT.runtime}/bin/node`);
  place(join(runtimeDir, 'LICENSE'), `${PACKAGE_LAYOUT.runtime}/LICENSE`);
  for (const part of ['vmm', 'im', 'tm', 'datastore', 'vnm', 'lib']) place(join(repo, 'remotes', part), `${PACKAGE_LAYOUT.remotes}/${part}`);
  for (const main of ['cli', 'demo'] as const) place(join(repo, 'build', main), PACKAGE_LAYOUT[main]);
  place(join(repo, 'remotes/etc/vmm/dockvisor/dockvisor.conf'), PACKAGE_LAYOUT.hostConfig);
  place(join(repo, 'remotes/etc/tm/dockvisor/dockvisor.conf'), PACKAGE_LAYOUT.transferConfig);
  // `dockvisor opennebula install` places the remotes' etc/ from these: the conffiles, as the admin left them.
  for (const [config, kind] of [
    [PACKAGE_LAYOUT.hostConfig, 'vmm'],
    [PACKAGE_LAYOUT.transferConfig, 'tm'],
  ] as const) {
    const link = join(stage, PACKAGE_LAYOUT.remotes, 'etc', kind, 'dockvisor/dockvisor.conf');
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(`/${config}`, link);
  }
  place(join(repo, 'packaging/nova'), PACKAGE_LAYOUT.nova);
  place(join(repo, 'README.md'), `${PACKAGE_LAYOUT.doc}/README.md`);
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  writeFileSync(join(stage, 'usr/bin/dockvisor'), `#!/bin/sh\nexec /${PACKAGE_LAYOUT.runtime}/bin/node /${PACKAGE_LAYOUT.cli}/cli.mjs "$@"\n`);
  writeFileSync(join(stage, PACKAGE_LAYOUT.doc, 'copyright'), copyright());
  writeFileSync(join(stage, PACKAGE_LAYOUT.doc, 'changelog.gz'), gzipSync(changelog(), { level: 9 })); // a native package's
  mkdirSync(join(stage, 'usr/share/lintian/overrides'), { recursive: true });
  writeFileSync(join(stage, 'usr/share/lintian/overrides/dockvisor'), lintianOverrides());
  normaliseModes(stage);
}

function writeDebianControl(stage: string, arch: RuntimeArch): void {
  const debian = join(stage, 'DEBIAN');
  mkdirSync(debian, { mode: 0o755 });
  const installedKb = Math.ceil(sizeOf(stage) / 1024);
  writeFileSync(
    join(debian, 'control'),
    [
      'Package: dockvisor',
      `Version: ${DOCKVISOR_VERSION}`,
      `Architecture: ${debianArch(arch)}`,
      'Maintainer: dockvisor developers <packaging@dockvisor.invalid>',
      `Installed-Size: ${installedKb}`,
      // util-linux (nsenter) is essential: every Debian system has it.
      'Depends: libc6 (>= 2.28), libstdc++6 (>= 10), libgcc-s1, libatomic1, iproute2',
      'Recommends: docker.io | docker-ce, sudo, rsync, ruby, openssh-client',
      'Suggests: python3-nova',
      'Section: admin',
      'Priority: optional',
      'Description: Docker containers that behave like lightweight VMs for clouds',
      ' dockvisor runs Docker containers as OpenNebula and OpenStack VMs: each gets',
      ' its own IP on the virtual networks beside KVM VMs, images come from a Docker',
      ' registry serving as the image datastore, and hosts are provisioned over SSH',
      ' and registered with the cloud.',
      ' .',
      ' This package holds the OpenNebula driver (VMM, monitoring, datastore and',
      ' transfer actions), the dockvisor command, the Nova driver shim and its own',
      ` Node.js ${RUNTIME_VERSION} runtime, which never replaces a node the system has.`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(debian, 'conffiles'), `/${PACKAGE_LAYOUT.hostConfig}\n/${PACKAGE_LAYOUT.transferConfig}\n`);
  const sums = filesBelow(stage)
    .filter((file) => !file.startsWith('DEBIAN/'))
    .map(
      (file) =>
        `${createHash('md5')
          .update(readFileSync(join(stage, file)))
          .digest('hex')}  ${file}`,
    );
  writeFileSync(join(debian, 'md5sums'), `${sums.join('\n')}\n`);
  for (const file of readdirSync(debian)) chmodSync(join(debian, file), 0o644);
}

function copyright(): string {
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: dockvisor',
    '',
    'Files: *',
    `Copyright: ${new Date().getUTCFullYear()} dockvisor developers`,
    'License: Apache-2.0',
    '',
    `Files: ${PACKAGE_LAYOUT.runtime.replace(/^usr/, '/usr')}/*`,
    'Copyright: Node.js contributors and others (see LICENSE beside the binary)',
    'License: Expat',
    '',
    'License: Apache-2.0',
    ' On Debian systems, the full text of the Apache License 2.0 is in',
    ' /usr/share/common-licenses/Apache-2.0.',
    '',
    'License: Expat',
    ' The Node.js licence, with the licences of the libraries it includes, is in',
    ` /${PACKAGE_LAYOUT.runtime}/LICENSE.`,
    '',
  ].join('\n');
}

function changelog(): string {
  const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000)) * 1000).toUTCString().replace('GMT', '+0000');
  return `dockvisor (${DOCKVISOR_VERSION}) unstable; urgency=medium\n\n  * Release ${DOCKVISOR_VERSION}.\n\n -- dockvisor developers <packaging@dockvisor.invalid>  ${date}\n`;
}

/** What lintian says of the shipped runtime that is true by design, and why. */
function lintianOverrides(): string {
  return [
    "# The official Node.js binary, shipped as published (pinned by digest): its symbols and embedded libraries are upstream's.",
    `dockvisor: unstripped-binary-or-object [${PACKAGE_LAYOUT.runtime}/bin/node]`,
    `dockvisor: embedded-library * [${PACKAGE_LAYOUT.runtime}/bin/node]`,
    '',
  ].join('\n');
}

function normaliseModes(stage: string): void {
  for (const file of filesBelow(stage, true)) {
    const path = join(stage, file);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue; // a link whose target is outside the package (OpenNebula's own monitoring client)
    chmodSync(path, stat.isDirectory() || stat.mode & 0o111 ? 0o755 : 0o644);
  }
  chmodSync(join(stage, 'usr/bin/dockvisor'), 0o755);
}

function filesBelow(root: string, withDirectories = false): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (withDirectories) found.push(relative(root, path));
        walk(path);
      } else if (!entry.isSymbolicLink()) found.push(relative(root, path));
    }
  };
  walk(root);
  return found;
}

function sizeOf(root: string): number {
  return filesBelow(root).reduce((total, file) => total + statSync(join(root, file)).size, 0);
}
