import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockvisorOpennebula, fakeFrontEnd, type FakeFrontEnd } from './front-end.ts';
import { createTestUser, removeTestUser, type TestUser } from './test-user.ts';

/**
 * The real path's host: the driver as `dockvisor opennebula install` places it on a 7.4 front-end, copied to a host
 * directory as oned copies it (rsync -L), run by a non-root user in the engine's group with provisioning's sudo rule,
 * as oneadmin runs it; the copy's host config says never to pull and keeps state under the work directory's own
 * 1777 `var-tmp`, as /var/tmp is on a host.
 */
export interface InstalledHost {
  user: TestUser;
  fe: FakeFrontEnd;
  /** A 0755 directory under /var/tmp that holds the copy and whatever the test adds. */
  work: string;
  /** The remotes as a host has them (/var/tmp/one). */
  hostCopy: string;
  cleanup(): void;
}

export function installedHost(userName: string, hostSettings: (work: string) => Record<string, unknown> = () => ({})): InstalledHost {
  const user = createTestUser(userName);
  const sudoers = `/etc/sudoers.d/${userName}`;
  const paths = ['ip', 'nsenter', 'iptables', 'tee', 'mount', 'umount', 'kill'].map((name) =>
    execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
      .trim()
      .replace(/^kill$/, '/usr/bin/kill'),
  );
  writeFileSync(sudoers, `${userName} ALL=(root) NOPASSWD: ${paths.join(', ')}\n`, { mode: 0o440 });
  const fe = fakeFrontEnd('7.4.0');
  const work = mkdtempSync(`/var/tmp/dockvisor-${userName}-`);
  const cleanup = () => {
    rmSync(sudoers, { force: true });
    removeTestUser(userName);
    fe.cleanup();
    rmSync(work, { recursive: true, force: true });
  };
  const installed = dockvisorOpennebula(['install', ...fe.flags, '--one-version', '7.4.0']);
  if (installed.status !== 0) {
    cleanup();
    throw new Error(installed.stderr);
  }
  chmodSync(work, 0o755);
  const hostCopy = join(work, 'var-tmp-one');
  execFileSync('rsync', ['-aL', `${fe.remotes}/`, `${hostCopy}/`]);
  const varTmp = join(work, 'var-tmp');
  mkdirSync(varTmp);
  chmodSync(varTmp, 0o1777);
  const hostConfig = join(hostCopy, 'etc/vmm/dockvisor/dockvisor.conf');
  const config = JSON.parse(readFileSync(hostConfig, 'utf8'));
  writeFileSync(
    hostConfig,
    JSON.stringify({ ...config, imagePull: 'never', shutdownTimeoutSeconds: 3, stateDir: join(varTmp, 'dockvisor'), ...hostSettings(work) }),
  );
  return { user, fe, work, hostCopy, cleanup };
}
