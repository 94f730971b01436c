import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { RawEngine } from './raw-engine.ts';
import type { BenchReport } from './report.ts';
import { deployExecutable, ENGINE_SOCKET, IMAGE, repoRoot, resultsDir, vmmBundle } from './settings.ts';

/** Refuses to start when something the benchmark needs is missing, saying what to do. */
export async function preflight(engine: RawEngine): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark plumbs veths and enters namespaces: run it as root');
  for (const path of [deployExecutable, vmmBundle]) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/setup.sh (npm run bench does)`);
  }
  for (const tool of ['ip', 'nsenter']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      throw new Error(`${tool} is not usable on this host: run scripts/setup.sh`);
    }
  }
  if (!existsSync(ENGINE_SOCKET)) throw new Error(`no Docker engine at ${ENGINE_SOCKET}: run scripts/setup.sh`);
  await engine.expect('GET', '/_ping', [200]);
  const image = await engine.request('GET', `/images/${encodeURIComponent(IMAGE)}/json`);
  if (image.status !== 200) throw new Error(`image ${IMAGE} is not on this host: run scripts/setup.sh`);
}

/** The host config the deploy executable runs with: never pull (no registry is reachable), short shutdown waits. */
export function writeHostConfig(): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, 'host-config.json');
  writeFileSync(path, JSON.stringify({ imagePull: 'never', shutdownTimeoutSeconds: 3 }) + '\n');
  return path;
}

export async function describeMachine(engine: RawEngine): Promise<BenchReport['machine']> {
  const version = await engine.json<{ ApiVersion?: string }>('GET', '/version', [200]);
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', timeout: 10_000 }).trim();
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'drivers', 'remotes'], { encoding: 'utf8', timeout: 10_000 });
    if (dirty.trim()) commit += ' (drivers modified)';
  } catch {
    // not a git checkout: the commit stays unknown
  }
  return { node: process.version, engineApi: version.ApiVersion ?? 'unknown', cpus: cpus().length, loadAverage: loadavg(), commit };
}
