import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_SNAPSHOT_OF, LABEL_VM_ID } from '../../drivers/core/labels.ts';
import { removeInstances, TOKEN } from './compute.ts';
import { realEngine } from './engine.ts';
import { deleteBridge, deleteLink, linksStartingWith } from './net.ts';
import { repoRoot } from './paths.ts';
import { ShimSteps } from './shim-steps.ts';
import { testConfigPath } from './vmm.ts';

export const PYTHON = '/usr/bin/python3';

/** Fails loudly where python3-nova is missing: scripts/setup.sh installs it. */
export function requirePythonNova(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import nova.virt.driver'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`python3-nova is not installed (${probe.stderr.trim().split('\n').pop()}): run scripts/setup.sh`);
}

/**
 * Stops what a shim test started, the last started first: the fixture's steps, the service, the registry, the
 * installed driver. Any of them may be missing (a before hook that failed half-way).
 */
export async function stopShimRig(rig: {
  shim?: ShimSteps;
  service?: ChildProcess;
  registry?: { stop(): Promise<unknown> };
  installed?: string;
}): Promise<void> {
  await rig.shim?.close();
  await stopService(rig.service);
  await rig.registry?.stop();
  if (rig.installed) rmSync(rig.installed, { recursive: true, force: true });
}

/** The driver as packaging/nova/install.sh installs it, in a fresh directory the caller removes. */
export function installShim(): string {
  const installed = mkdtempSync(join(tmpdir(), 'dvt-nova-shim-'));
  const install = spawnSync('bash', [join(repoRoot, 'packaging/nova/install.sh'), '--target', installed], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
  return installed;
}

/** The real service, as an operator starts it: the dockvisor command, the token in the environment; `config`: host config overrides. */
export async function startService(listen: string, registryAddress: string, configName: string, config: Record<string, unknown> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), 'compute', 'serve', '--listen', listen, '--registry', registryAddress], {
    env: { ...process.env, DOCKVISOR_COMPUTE_TOKEN: TOKEN, DOCKVISOR_CONFIG: testConfigPath({ shutdownTimeoutSeconds: 3, ...config }, configName) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`http://${listen}/openapi.json`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`the compute service did not start on ${listen}: ${stderr.trim().slice(0, 300)}`);
}

export async function stopService(service: ChildProcess | undefined): Promise<void> {
  if (!service || service.exitCode !== null || service.signalCode !== null) return;
  const exited = new Promise((resolve) => service.once('exit', resolve));
  service.kill('SIGTERM');
  await exited;
}

/** A fixture of test/fixtures stepped through with the installed driver (`installed`) and the service's token. */
export function startShimSteps(fixture: string, installed: string, env: Record<string, string>): ShimSteps {
  return ShimSteps.start(fixture, { DVT_SHIM_PATH: installed, DVT_TOKEN: TOKEN, ...env });
}

/**
 * What a shim test file leaves: its instances, their snapshot images (the driver's destroy removes them; a run that
 * ends before it leaves them), their taps and the file's bridge.
 */
export async function removeShimLeftovers(uuidPrefix: string, tapPrefix: string, bridge: string): Promise<void> {
  const engine = await realEngine();
  await removeInstances(engine, uuidPrefix);
  for (const image of await engine.listImages([LABEL_SNAPSHOT_OF])) {
    if (image.Labels?.[LABEL_VM_ID]?.startsWith(uuidPrefix)) await engine.removeImage(image.Id).catch(() => undefined);
  }
  for (const link of linksStartingWith(tapPrefix)) deleteLink(link);
  deleteBridge(bridge);
}
