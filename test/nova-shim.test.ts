import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { instanceNames, uuidMaker } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { createBridge } from './helpers/net.ts';
import { BASE_IMAGE } from './helpers/paths.ts';
import { installShim, removeShimLeftovers, requirePythonNova, startShimSteps, startService, stopShimRig } from './helpers/nova-shim.ts';
import type { ShimSteps } from './helpers/shim-steps.ts';
import { startRegistry, type SnapshotRegistry } from './helpers/snapshot-registry.ts';
import { testIds } from './helpers/test-ids.ts';

const SERVICE = '127.0.0.1:5312';
const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
const uuid = uuids.next();
let service: ChildProcess | undefined;
let registry: SnapshotRegistry | undefined;
let installed: string | undefined;
let shim: ShimSteps | undefined;

const cleanup = () => removeShimLeftovers(uuids.prefix, 'tapc3c3c3c3', bridge);

test.before(async () => {
  requirePythonNova();
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
  installed = installShim();
  registry = await startRegistry();
  service = await startService(SERVICE, registry.address, 'nova-shim.json');
  shim = startShimSteps('nova_shim_lifecycle.py', installed, { DVT_URL: `http://${SERVICE}`, DVT_UUID: uuid, DVT_BRIDGE: bridge, DVT_IMAGE: BASE_IMAGE });
});

test.after.always(async () => {
  await stopShimRig({ shim, service, registry, installed });
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

test.serial('snapshot pushes to the registry, walks the task states and gives glance the pinned reference and the data', async (t) => {
  const seen = await shim!.step('snapshot');
  t.teardown(async () => (await realEngine()).removeImage(seen.snapshot).catch(() => undefined));
  t.regex(seen.snapshot, new RegExp(`^127\\.0\\.0\\.1:5310/nova-snapshots/${uuid}@sha256:[a-f0-9]{64}$`));
  t.deepEqual(seen.snapshot_task_states, ['image_pending_upload', 'image_uploading']);
  t.is(seen.glance_updates[0].image.properties.docker_image, seen.snapshot);
  t.true(seen.glance_updates[0].size > 0, 'the docker save stream went to the image service');
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
