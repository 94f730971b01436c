import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uuidMaker } from './helpers/compute.ts';
import { createBridge } from './helpers/net.ts';
import { installShim, removeShimLeftovers, requirePythonNova, startShimSteps, startService, stopShimRig } from './helpers/nova-shim.ts';
import type { ShimSteps } from './helpers/shim-steps.ts';
import { BASE_IMAGE, repoRoot } from './helpers/paths.ts';
import { startRegistry, type SnapshotRegistry } from './helpers/snapshot-registry.ts';
import { testIds } from './helpers/test-ids.ts';

const SERVICE = '127.0.0.1:5318';
const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
const uuid = uuids.next();
const missing = uuids.next();
const older = uuids.next();
let service: ChildProcess | undefined;
let registry: SnapshotRegistry | undefined;
let installed: string | undefined;
let shim: ShimSteps | undefined;

const cleanup = () => removeShimLeftovers(uuids.prefix, 'tape0c0e0c', bridge);

test.before(async () => {
  requirePythonNova();
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
  installed = installShim();
  registry = await startRegistry();
  service = await startService(SERVICE, registry.address, 'nova-exceptions.json');
  shim = startShimSteps('nova_exceptions.py', installed, {
    DVT_URL: `http://${SERVICE}`,
    DVT_UUID: uuid,
    DVT_MISSING_UUID: missing,
    DVT_OLDER_UUID: older,
    DVT_BRIDGE: bridge,
    DVT_CIDR: `${ids.network(0)}.0/24`,
    DVT_IMAGE: BASE_IMAGE,
  });
});

test.after.always(async () => {
  await stopShimRig({ shim, service, registry, installed });
  await cleanup();
});

test.serial("list_instances answers Nova's instance names, also of an instance spawned without one; list_instance_uuids the uuids", async (t) => {
  t.deepEqual(await shim!.step('names'), { names: ['instance-0000002a', 'instance-0000002c'], uuids: [uuid, older].sort() });
});

test.serial('a failed attach_interface is InterfaceAttachFailed, so nova-compute frees the port; the instance runs on', async (t) => {
  t.deepEqual(await shim!.step('attach_failures'), { bridge_missing: 'InterfaceAttachFailed', type_unsupported: 'InterfaceAttachFailed', still_running: 1 });
});

test.serial('detaching an interface the instance no longer has is no error, as with libvirt', async (t) => {
  t.deepEqual(await shim!.step('detach_missing_interface'), { detach: 'no error' });
});

test.serial('a stopped instance snapshots as a running one does', async (t) => {
  const seen = await shim!.step('snapshot_stopped');
  t.is(seen.snapshot, 'no error');
  t.regex(seen.reference, new RegExp(`/nova-snapshots/${uuid}@sha256:[a-f0-9]{64}$`));
});

test.serial('every verb on an instance the host does not have raises what nova-compute expects', async (t) => {
  t.deepEqual(await shim!.step('missing_instance'), {
    get_info: 'InstanceNotFound',
    reboot: 'InstanceNotFound',
    power_off: 'InstanceNotFound',
    power_on: 'InstanceNotFound',
    pause: 'InstanceNotFound',
    unpause: 'InstanceNotFound',
    suspend: 'InstanceNotFound',
    resume: 'InstanceNotFound',
    snapshot: 'InstanceNotRunning',
    attach_interface: 'InterfaceAttachFailed',
    detach_interface: 'InstanceNotFound',
    get_console_output: 'InstanceNotFound',
    destroy: 'no error',
  });
});

test.serial('a second spawn of one uuid is InstanceExists; pausing a stopped instance is InstanceInvalidState', async (t) => {
  t.deepEqual(await shim!.step('conflicts'), { spawn_again: 'InstanceExists', pause_stopped: 'InstanceInvalidState' });
});

test.serial('a spawn the service refuses as bad input is InvalidInput', async (t) => {
  t.deepEqual(await shim!.step('bad_input'), { spawn: 'InvalidInput' });
});

test.serial('a [dockvisor] host the service does not manage is ComputeHostNotFound', async (t) => {
  t.deepEqual(await shim!.step('unknown_host'), {
    init_host: 'ComputeHostNotFound',
    get_available_nodes: 'ComputeHostNotFound',
    get_host_uptime: 'ComputeHostNotFound',
    list_instances: 'ComputeHostNotFound',
  });
});

test.serial('a token the service does not take is a NovaException', async (t) => {
  t.deepEqual(await shim!.step('wrong_token'), { get_info: 'NovaException' });
});

test.serial("a service that is down is HypervisorUnavailable, or the interface verbs' own failure", async (t) => {
  t.deepEqual(await shim!.step('service_down'), {
    init_host: 'HypervisorUnavailable',
    list_instance_uuids: 'HypervisorUnavailable',
    get_info: 'HypervisorUnavailable',
    spawn: 'HypervisorUnavailable',
    power_off: 'HypervisorUnavailable',
    attach_interface: 'InterfaceAttachFailed',
    detach_interface: 'InterfaceDetachFailed',
  });
});

test.serial("the shim's table is the README's, verb by verb and answer by answer", async (t) => {
  const table = (await shim!.step('table')) as Record<string, Record<string, string>>;
  t.deepEqual(table, readmeTable(Object.keys(table)));
});

test.serial('destroy leaves nothing', async (t) => {
  t.deepEqual(await shim!.step('destroyed'), { exists: false });
});

/** The README's two tables ("Errors as Nova's exceptions") as the full table of `verbs` by kind of answer. */
function readmeTable(verbs: string[]): Record<string, Record<string, string>> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf("### Errors as Nova's exceptions"), readme.indexOf('### API'));
  const defaults: Record<string, string> = {};
  for (const [, kind, name] of section.matchAll(/^\| [^`|]+ \| `(\w+)` \| `(\w+)`/gm)) defaults[kind!] = name!;
  const own: Record<string, Record<string, string>> = {};
  for (const [, verbCell, rules] of section.matchAll(/^\| ((?:`\w+`(?:, )?)+) \| (.+) \|$/gm)) {
    const rows: Record<string, string> = {};
    for (const rule of rules!.split('; ')) {
      const [kinds, exception] = [rule.slice(0, rule.indexOf(':')), /`(\w+)`/.exec(rule.slice(rule.indexOf(':')))![1]!];
      const named = [...kinds.matchAll(/`(\w+)`/g)].map((match) => match[1]!);
      for (const kind of kinds.startsWith('every') ? Object.keys(defaults) : named) rows[kind] ??= exception;
    }
    for (const [, verb] of verbCell!.matchAll(/`(\w+)`/g)) own[verb!] = rows;
  }
  return Object.fromEntries(verbs.map((verb) => [verb, Object.fromEntries(Object.keys(defaults).map((kind) => [kind, own[verb]?.[kind] ?? defaults[kind]!]))]));
}
