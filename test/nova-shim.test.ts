import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, instanceNames, removeInstances, uuidMaker } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, linksStartingWith } from './helpers/net.ts';
import { BASE_IMAGE, repoRoot } from './helpers/paths.ts';
import { startRegistry, type SnapshotRegistry } from './helpers/snapshot-registry.ts';
import { testConfigPath } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

const PYTHON = '/usr/bin/python3';
const SERVICE = '127.0.0.1:5312';
const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
let service: ChildProcess | undefined;
let registry: SnapshotRegistry | undefined;
let installed: string | undefined;

async function cleanup(): Promise<void> {
  await removeInstances(await realEngine(), uuids.prefix);
  for (const link of linksStartingWith('tapc3c3c3c3')) deleteLink(link);
  deleteBridge(bridge);
}

/** The real service, as an operator starts it: the dockvisor command, the token in the environment. */
async function startService(registryAddress: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), 'compute', 'serve', '--listen', SERVICE, '--registry', registryAddress], {
    env: { ...process.env, DOCKVISOR_COMPUTE_TOKEN: TOKEN, DOCKVISOR_CONFIG: testConfigPath({ shutdownTimeoutSeconds: 3 }, 'nova-shim.json') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`http://${SERVICE}/openapi.json`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`the compute service did not start on ${SERVICE}: ${stderr.trim().slice(0, 300)}`);
}

test.before(async () => {
  // In CI a missing python3-nova fails here, loudly: scripts/setup.sh installs it.
  const probe = spawnSync(PYTHON, ['-c', 'import nova.virt.driver'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`python3-nova is not installed (${probe.stderr.trim().split('\n').pop()}): run scripts/setup.sh`);
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
  installed = mkdtempSync(join(tmpdir(), 'dvt-nova-shim-'));
  const install = spawnSync('bash', [join(repoRoot, 'packaging/nova/install.sh'), '--target', installed], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
  registry = await startRegistry();
  service = await startService(registry.address);
});

test.after.always(async () => {
  if (service && service.exitCode === null) {
    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  await registry?.stop();
  if (installed) rmSync(installed, { recursive: true, force: true });
  await cleanup();
});

test.serial('nova objects through the installed driver: spawn, reboot, power off and on, pause, suspend, snapshot, resources, destroy', async (t) => {
  t.true(existsSync(join(installed!, 'dockvisor/driver.py')), 'install.sh put the driver in place');
  const uuid = uuids.next();
  const run = spawnSync(PYTHON, [join(repoRoot, 'test/fixtures/nova_shim_lifecycle.py')], {
    encoding: 'utf8',
    timeout: 240_000,
    cwd: tmpdir(),
    env: {
      ...process.env,
      DVT_SHIM_PATH: installed,
      DVT_URL: `http://${SERVICE}`,
      DVT_TOKEN: TOKEN,
      DVT_UUID: uuid,
      DVT_BRIDGE: bridge,
      DVT_IMAGE: BASE_IMAGE,
    },
  });
  t.is(run.status, 0, run.stderr.split('\n').slice(-15).join('\n'));
  const seen = JSON.parse(run.stdout);
  t.is(seen.driver, 'nova.virt.dockvisor.driver.DockvisorDriver');
  t.like(seen, {
    after_spawn: 1,
    listed: true,
    exists: true,
    after_reboot: 1,
    after_power_off: 4,
    after_power_on: 1,
    after_pause: 3,
    after_suspend: 7,
    after_resume: 1,
    after_destroy: 'InstanceNotFound',
    listed_after: false,
  });
  t.regex(seen.console, /shim booted/);
  t.regex(seen.snapshot, new RegExp(`^127\\.0\\.0\\.1:5310/nova-snapshots/${uuid}@sha256:[a-f0-9]{64}$`));
  t.deepEqual(seen.snapshot_task_states, ['image_pending_upload', 'image_uploading']);
  t.is(seen.glance_updates[0].image.properties.docker_image, seen.snapshot);
  t.is(seen.resources.hypervisor_type, 'docker');
  t.true(seen.resources.vcpus_used >= 1);
  t.deepEqual(Object.keys(seen.inventory).sort(), ['DISK_GB', 'MEMORY_MB', 'VCPU']);
  t.is(seen.inventory.MEMORY_MB.reserved, 512, "nova.conf's reserved_host_memory_mb");
  t.is(seen.inventory.VCPU.allocation_ratio, 4, "nova.conf's initial_cpu_allocation_ratio");
  t.regex(seen.uptime, / up /);
  t.regex(seen.bad_spawn, /^InvalidInput: .*metadata key "A;reboot" is not a valid environment variable name/);
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
  await (await realEngine()).removeImage(seen.snapshot).catch(() => undefined);
});
