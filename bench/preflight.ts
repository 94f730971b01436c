import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { RawEngine } from './raw-engine.ts';
import type { BenchReport } from './report.ts';
import {
  deployExecutable,
  ENGINE_SOCKET,
  GNU_TIME,
  IMAGE,
  imBundle,
  probeStdin,
  repoRoot,
  resultsDir,
  VM_PROBES,
  vmmBundle,
  type Section,
} from './settings.ts';

/** Refuses to start when something the chosen parts of the benchmark need is missing, saying what to do. */
export async function preflight(engine: RawEngine, sections: Section[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark plumbs veths, enters namespaces and reads cgroups: run it as root');
  const deploying = sections.includes('deploy') || sections.includes('ovs') || sections.includes('cold-start');
  const monitoring = sections.includes('monitor');
  const files = [...(deploying ? [deployExecutable, vmmBundle] : []), ...(monitoring ? [imBundle, ...Object.values(VM_PROBES)] : [])];
  for (const path of files) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/setup.sh (npm run bench does)`);
  }
  if (monitoring && !existsSync(probeStdin)) throw new Error(`${probeStdin} is missing: the probes' recorded <MONITOR_CONFIGURATION>`);
  for (const tool of deploying ? ['ip', 'nsenter'] : []) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      throw new Error(`${tool} is not usable on this host: run scripts/setup.sh`);
    }
  }
  if (monitoring) ensureGnuTime();
  if (!existsSync(ENGINE_SOCKET)) throw new Error(`no Docker engine at ${ENGINE_SOCKET}: run scripts/setup.sh`);
  await engine.expect('GET', '/_ping', [200]);
  const image = await engine.request('GET', `/images/${encodeURIComponent(IMAGE)}/json`);
  if (image.status !== 200) throw new Error(`image ${IMAGE} is not on this host: run scripts/setup.sh`);
}

/** GNU time gives the probes' peak RSS; Debian's package `time` is installed when it is missing. */
function ensureGnuTime(): void {
  const usable = () => {
    try {
      execFileSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  };
  if (usable()) return;
  try {
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'time'], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    // said below
  }
  if (!usable()) throw new Error(`${GNU_TIME} is missing and could not be installed: apt-get install time`);
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
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'mains', 'drivers', 'remotes'], { encoding: 'utf8', timeout: 10_000 });
    if (dirty.trim()) commit += ' (drivers modified)';
  } catch {
    // not a git checkout: the commit stays unknown
  }
  return { node: process.version, engineApi: version.ApiVersion ?? 'unknown', cpus: cpus().length, loadAverage: loadavg(), commit };
}
