import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './paths.ts';

/**
 * How a front-end keeps OpenNebula's monitoring client: `packaged` as every release's packages install it
 * (install.sh copies with links followed: real files in im/kvm.d and im/lxc.d, no im/common.d; 6.10, 7.0 and 7.4
 * alike), only in `common.d` (where OpenNebula's source tree keeps it), only in `lxc.d`, or `none`.
 */
export type ClientLayout = 'packaged' | 'common.d' | 'lxc-only' | 'none';

export interface FakeFrontEnd {
  dir: string;
  onedConf: string;
  monitordConf: string;
  remotes: string;
  /** The flags that point the commands at it. */
  flags: string[];
  cleanup(): void;
}

export const CLIENT_RB = "#!/usr/bin/env ruby\n# stands in for OpenNebula's monitord-client.rb\n";
export const CLIENT_CONTROL = "#!/bin/bash\n# stands in for OpenNebula's monitord-client_control.sh\n";

/** A front-end in a temporary directory: the release's stock oned.conf and monitord.conf, a remotes tree like its packages'. */
export function fakeFrontEnd(version: string, layout: ClientLayout = 'packaged'): FakeFrontEnd {
  const dir = mkdtempSync(join(tmpdir(), 'dvt-oneinst-'));
  const etc = join(dir, 'etc/one');
  const remotes = join(dir, 'var/lib/one/remotes');
  mkdirSync(etc, { recursive: true });
  for (const file of ['oned.conf', 'monitord.conf']) copyFileSync(join(repoRoot, 'test/fixtures/opennebula-etc', version, file), join(etc, file));
  const put = (path: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(remotes, path)), { recursive: true });
    writeFileSync(join(remotes, path), text, { mode });
  };
  put('VERSION', `${version}\n`);
  put('vmm/kvm/deploy', '#!/bin/bash\n# kvm deploy\n', 0o755);
  put('im/kvm-probes.d/host/system/linux_host.rb', '# a kvm probe\n', 0o755);
  put('etc/vmm/kvm/kvmrc', 'LIBVIRT_URI=qemu:///system\n');
  const client = (where: string) => {
    put(`${where}/monitord-client.rb`, CLIENT_RB);
    put(`${where}/monitord-client_control.sh`, CLIENT_CONTROL, 0o755);
  };
  if (layout === 'packaged') ['im/kvm.d', 'im/lxc.d'].forEach(client);
  if (layout === 'lxc-only') client('im/lxc.d');
  if (layout === 'common.d') client('im/common.d');
  if (layout === 'none') mkdirSync(join(remotes, 'im'), { recursive: true });
  return {
    dir,
    onedConf: join(etc, 'oned.conf'),
    monitordConf: join(etc, 'monitord.conf'),
    remotes,
    flags: ['--oned-conf', join(etc, 'oned.conf'), '--monitord-conf', join(etc, 'monitord.conf'), '--remotes', remotes],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `dockvisor opennebula ...` as an admin types it, without OpenNebula credentials unless `env` gives some. */
export function dockvisorOpennebula(args: string[], env: Record<string, string | undefined> = {}, home = tmpdir()) {
  return spawnSync(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), 'opennebula', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: commandEnv(env, home),
  });
}

/** The same, without blocking this process: for tests that serve the command (a stand-in oned) meanwhile. */
export function dockvisorOpennebulaAsync(
  args: string[],
  env: Record<string, string | undefined> = {},
  home = tmpdir(),
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin/dockvisor.mjs'), 'opennebula', ...args],
      { encoding: 'utf8', timeout: 120_000, env: commandEnv(env, home) },
      (error, stdout, stderr) => {
        resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

function commandEnv(env: Record<string, string | undefined>, home: string): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: home, PATH: `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin` };
  delete childEnv.ONE_AUTH;
  delete childEnv.ONE_XMLRPC;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  return childEnv;
}

/** Every entry under `dir` with its type, mode, owner, modification time and content: equal snapshots, nothing written. */
export function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const name of readdirSync(join(dir, relative)).sort()) {
      const path = join(relative, name);
      const full = join(dir, path);
      const stat = lstatSync(full);
      const what = stat.isSymbolicLink()
        ? `link ${readlinkSync(full)}`
        : stat.isDirectory()
          ? 'dir'
          : `file ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      entries[path] = `${what} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${stat.mtimeMs}`;
      if (stat.isDirectory()) walk(path);
    }
  };
  walk('');
  return entries;
}
