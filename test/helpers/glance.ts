import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './sshd.ts';

const GLANCE_API = '/usr/bin/glance-api';
const GLANCE_MANAGE = '/usr/bin/glance-manage';
const START_MS = 60_000;

/** A Glance of its own: glance-api on 127.0.0.1, images in a file store and records in sqlite under a temporary directory. */
export interface TestGlance {
  url: string;
  pid: number;
  /** What the store holds on disk: one file per image with data. */
  storedFiles(): string[];
  stop(): Promise<void>;
}

/** Fails loudly where glance-api is missing: scripts/setup.sh installs Debian's glance-api. */
export function requireGlance(): void {
  if (!existsSync(GLANCE_API) || !existsSync(GLANCE_MANAGE)) throw new Error(`${GLANCE_API} is missing: run scripts/setup.sh (Debian's glance-api)`);
}

/** Debian's glance-api without Keystone (`[paste_deploy] flavor` empty: every request is the unauthenticated admin), one process. */
export async function startGlance(): Promise<TestGlance> {
  requireGlance();
  const dir = mkdtempSync(join(tmpdir(), 'dvt-glance-'));
  const store = join(dir, 'images');
  mkdirSync(store);
  const port = await freePort();
  const config = join(dir, 'glance-api.conf');
  writeFileSync(
    config,
    [
      '[DEFAULT]',
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      'workers = 0',
      `log_file = ${join(dir, 'glance-api.log')}`,
      '[database]',
      `connection = sqlite:///${join(dir, 'glance.sqlite')}`,
      '[glance_store]',
      'stores = file',
      'default_store = file',
      `filesystem_store_datadir = ${store}`,
      '[paste_deploy]',
      'flavor =',
      'config_file = /etc/glance/glance-api-paste.ini',
      '[oslo_policy]',
      'enforce_new_defaults = false',
      'enforce_scope = false',
      '',
    ].join('\n'),
  );
  const sync = spawnSync(GLANCE_MANAGE, ['--config-file', config, 'db_sync'], { encoding: 'utf8', cwd: dir });
  if (sync.status !== 0) throw new Error(`glance-manage db_sync failed: ${sync.stderr.trim().slice(-400)}`);
  const child = spawn(GLANCE_API, ['--config-file', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  const glance: TestGlance = {
    url,
    pid: child.pid!,
    storedFiles: () => readdirSync(store),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const deadline = Date.now() + START_MS; Date.now() < deadline && child.exitCode === null && child.signalCode === null;) {
    try {
      if ((await fetch(`${url}/v2/images`)).ok) return glance;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const log = existsSync(join(dir, 'glance-api.log')) ? readFileSync(join(dir, 'glance-api.log'), 'utf8').slice(-600) : '';
  await glance.stop();
  throw new Error(`glance-api did not start on ${url}: ${(stderr || log).trim()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}
