import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LABEL_SNAPSHOT_OF, LABEL_VM_ID } from '../drivers/core/labels.ts';
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
const uuid = uuids.next();
let service: ChildProcess | undefined;
let registry: SnapshotRegistry | undefined;
let installed: string | undefined;
let shim: ShimSteps | undefined;

async function cleanup(): Promise<void> {
  const engine = await realEngine();
  await removeInstances(engine, uuids.prefix);
  // The driver's destroy removes an instance's snapshot images; a run that ends before it leaves them here.
  for (const image of await engine.listImages([LABEL_SNAPSHOT_OF])) {
    if (image.Labels?.[LABEL_VM_ID]?.startsWith(uuids.prefix)) await engine.removeImage(image.Id).catch(() => undefined);
  }
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

/** What one step of the fixture saw, as it printed it. */
type Seen = Record<string, any>;

/**
 * test/fixtures/nova_shim_lifecycle.py, run once with the installed driver and stepped through one step a test:
 * the process outlives each step because importing nova takes seconds.
 */
class ShimSteps {
  private stderr = '';
  private readonly answers: AsyncIterator<string>;

  constructor(private readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    child.stdin!.on('error', () => undefined); // a process that died is reported by the step that waits for it
    this.answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static start(): ShimSteps {
    const child = spawn(PYTHON, [join(repoRoot, 'test/fixtures/nova_shim_lifecycle.py')], {
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
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ShimSteps(child);
  }

  /** Runs one step; a step that raised, or a process that ended, fails with its traceback or the end of its stderr. */
  async step(name: string): Promise<Seen> {
    this.child.stdin!.write(`${name}\n`);
    const line = await this.answers.next();
    if (line.done) throw new Error(`the shim fixture ended before answering ${name}: ${this.stderr.split('\n').slice(-15).join('\n')}`);
    const answer = JSON.parse(line.value) as { seen?: Seen; error?: string };
    if (answer.error !== undefined) throw new Error(`step ${name} raised:\n${answer.error}`);
    return answer.seen!;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
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
  shim = ShimSteps.start();
});

test.after.always(async () => {
  await shim?.close();
  if (service && service.exitCode === null) {
    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  await registry?.stop();
  if (installed) rmSync(installed, { recursive: true, force: true });
  await cleanup();
});

test.serial("install.sh puts the driver in place, and nova.conf's compute_driver loads it", async (t) => {
  t.true(existsSync(join(installed!, 'dockvisor/driver.py')), 'install.sh put the driver in place');
  const seen = await shim!.step('driver');
  t.is(seen.driver, 'nova.virt.dockvisor.driver.DockvisorDriver');
});

test.serial('spawn starts the instance, which the driver then lists and finds', async (t) => {
  t.like(await shim!.step('spawn'), { after_spawn: 1, listed: true, exists: true });
});

test.serial('reboot ends RUNNING', async (t) => {
  t.like(await shim!.step('reboot'), { after_reboot: 1 });
});

test.serial('power_off ends SHUTDOWN', async (t) => {
  t.like(await shim!.step('power_off'), { after_power_off: 4 });
});

test.serial('power_on ends RUNNING', async (t) => {
  t.like(await shim!.step('power_on'), { after_power_on: 1 });
});

test.serial('pause ends PAUSED', async (t) => {
  t.like(await shim!.step('pause'), { after_pause: 3 });
});

test.serial('suspend ends SUSPENDED', async (t) => {
  t.like(await shim!.step('suspend'), { after_suspend: 7 });
});

test.serial('resume ends RUNNING', async (t) => {
  t.like(await shim!.step('resume'), { after_resume: 1 });
});

test.serial('get_console_output shows what the instance printed', async (t) => {
  t.regex((await shim!.step('console')).console, /shim booted/);
});

test.serial('snapshot pushes to the registry, walks the task states and gives glance the pinned reference', async (t) => {
  const seen = await shim!.step('snapshot');
  t.teardown(async () => (await realEngine()).removeImage(seen.snapshot).catch(() => undefined));
  t.regex(seen.snapshot, new RegExp(`^127\\.0\\.0\\.1:5310/nova-snapshots/${uuid}@sha256:[a-f0-9]{64}$`));
  t.deepEqual(seen.snapshot_task_states, ['image_pending_upload', 'image_uploading']);
  t.is(seen.glance_updates[0].image.properties.docker_image, seen.snapshot);
});

test.serial('get_available_resource reports a docker hypervisor and the vcpus the instance uses', async (t) => {
  const seen = await shim!.step('resources');
  t.is(seen.resources.hypervisor_type, 'docker');
  t.true(seen.resources.vcpus_used >= 1);
});

test.serial("update_provider_tree reports VCPU, MEMORY_MB and DISK_GB with nova.conf's reservation and ratio", async (t) => {
  const seen = await shim!.step('inventory');
  t.deepEqual(Object.keys(seen.inventory).sort(), ['DISK_GB', 'MEMORY_MB', 'VCPU']);
  t.is(seen.inventory.MEMORY_MB.reserved, 512, "nova.conf's reserved_host_memory_mb");
  t.is(seen.inventory.VCPU.allocation_ratio, 4, "nova.conf's initial_cpu_allocation_ratio");
});

test.serial("get_host_uptime reports the host's uptime", async (t) => {
  t.regex((await shim!.step('uptime')).uptime, / up /);
});

test.serial('destroy, twice, leaves an instance get_info does not find', async (t) => {
  t.like(await shim!.step('destroy'), { after_destroy: 'InstanceNotFound' });
});

test.serial('a spawn whose metadata key is not an environment variable name is refused and leaves nothing', async (t) => {
  const seen = await shim!.step('bad_spawn');
  t.regex(seen.bad_spawn, /^InvalidInput: .*metadata key "A;reboot" is not a valid environment variable name/);
  t.like(seen, { listed_after: false });
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
});
