import test from 'ava';
import { auth, instanceNames, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, hostPings, ipInside, linkExists, linksStartingWith, runInside as inside } from './helpers/net.ts';
import { startRegistry } from './helpers/snapshot-registry.ts';
import { testConfigPath } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const lan = ids.bridge('0');
const second = ids.bridge('1');
const portA = 'a1a1a1a1-0000-4000-8000-000000000001';
const portB = 'b2b2b2b2-0000-4000-8000-000000000002';
const vifA = {
  id: portA,
  address: '02:00:c6:12:6f:0b',
  bridge: lan,
  mtu: 1400,
  ips: [{ address: ids.address(0, 11), prefix: 24 }],
  gateway: ids.address(0, 1),
  dns: [ids.address(0, 53)],
};
const vifB = { id: portB, address: '02:00:c6:12:70:0b', bridge: second, ips: [{ address: ids.address(1, 11), prefix: 24 }], dns: [] };
const pulledImages: string[] = [];
let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
let compute: TestCompute;

async function cleanup(): Promise<void> {
  const engine = await realEngine();
  await removeInstances(engine, uuids.prefix);
  for (const image of pulledImages) await engine.removeImage(image).catch(() => undefined);
  for (const link of linksStartingWith('tapa1a1a1a1', 'tapb2b2b2b2')) deleteLink(link);
  deleteBridge(lan);
  deleteBridge(second);
}

test.before(async () => {
  await cleanup();
  createBridge(lan, ids.cidr(0, 1));
  createBridge(second, ids.cidr(1, 1));
  registry = await startRegistry();
  compute = await testCompute({
    registry: registry.address,
    config: testConfigPath({ imagePull: 'missing', shutdownTimeoutSeconds: 3 }, 'nova-lifecycle.json'),
  });
});
test.after.always(async () => {
  await compute?.close();
  await registry?.stop();
  await cleanup();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  return compute.app.inject({ method, url, headers: auth, payload: payload as object | undefined });
}

async function ok(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const answer = await call(method, url, payload);
  if (answer.statusCode >= 300) throw new Error(`${method} ${url}: ${answer.statusCode} ${answer.body}`);
  return answer.statusCode === 204 ? undefined : answer.json();
}

const stateOf = async (uuid: string) => (await ok('GET', `/v1/instances/${uuid}`)).state as string;
const pidOf = async (uuid: string) => (await (await realEngine()).inspectContainer(`nova-${uuid}`)).State.Pid;

// The power verbs below act on one shared instance, each test first bringing it to the state the verb starts from:
// in the order written each finds it where the test before left it, so the file spawns it once.
const sharedSpawn = {
  hostname: 'web-1',
  metadata: { ROLE: 'web', GREETING: 'hello world' },
  injected_files: [{ path: '/etc/dockvisor/motd', contents: Buffer.from('injected\n').toString('base64') }],
  network_info: [vifA],
  command: ['sh', '-c', 'echo booted as $ROLE; exec sleep 100000'],
};
const sharedUuid = uuids.next();
let sharedSpawned: Promise<Record<string, unknown>> | undefined;

/** Spawns the shared instance the first time it is asked for; the spawn's answer. */
async function spawnShared(): Promise<{ uuid: string; spawned: Record<string, unknown> }> {
  sharedSpawned ??= ok('POST', '/v1/instances', spawnBody(sharedUuid, sharedSpawn));
  return { uuid: sharedUuid, spawned: await sharedSpawned };
}

type Power = 'RUNNING' | 'PAUSED' | 'SUSPENDED' | 'SHUTDOWN';

/** The shared instance in state `target`, reached through RUNNING; returns its uuid. */
async function sharedIn(target: Power): Promise<string> {
  const { uuid } = await spawnShared();
  const now = await stateOf(uuid);
  if (now === target) return uuid;
  if (now === 'PAUSED') await ok('POST', `/v1/instances/${uuid}/unpause`);
  else if (now === 'SUSPENDED') await ok('POST', `/v1/instances/${uuid}/resume`, {});
  else if (now !== 'RUNNING') await ok('POST', `/v1/instances/${uuid}/power-on`, { network_info: [vifA] });
  if (target === 'PAUSED') await ok('POST', `/v1/instances/${uuid}/pause`);
  else if (target === 'SUSPENDED') await ok('POST', `/v1/instances/${uuid}/suspend`);
  else if (target === 'SHUTDOWN') await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 0 });
  const reached = await stateOf(uuid);
  if (reached !== target) throw new Error(`the shared instance is ${reached} where the test needs ${target}`);
  return uuid;
}

test.serial('spawn answers RUNNING and gives the container the flavor and the hostname', async (t) => {
  const { uuid, spawned } = await spawnShared();
  t.like(spawned, { uuid, container: `nova-${uuid}`, power_state: 1, state: 'RUNNING' });
  const engine = await realEngine();
  const config = await engine.inspectContainer(`nova-${uuid}`);
  t.is(config.HostConfig.Memory, 64 * 1024 * 1024);
  t.is(config.HostConfig.CpuQuota, 100_000);
  t.is(config.Config.Hostname, 'web-1');
});

test.serial('spawn writes the injected files and passes the metadata as environment', async (t) => {
  const pid = await pidOf(await sharedIn('RUNNING'));
  t.regex(inside(pid, 'cat', '/etc/dockvisor/motd'), /^injected$/m);
  t.regex(inside(pid, 'cat', `/proc/1/environ`).replace(/\0/g, '\n'), /^GREETING=hello world$/m);
});

test.serial('spawn plugs the VIF with its MAC, address, MTU, default route and DNS, and the host reaches it', async (t) => {
  const pid = await pidOf(await sharedIn('RUNNING'));
  const eth0 = ipInside(pid, 'addr', 'show', 'eth0');
  t.regex(eth0, /link\/ether 02:00:c6:12:6f:0b/);
  t.regex(eth0, /inet 198\.18\.111\.11\/24/);
  t.regex(eth0, /mtu 1400/);
  t.regex(ipInside(pid, 'route'), /default via 198\.18\.111\.1 dev eth0/);
  t.regex(inside(pid, 'cat', '/etc/resolv.conf'), /nameserver 198\.18\.111\.53/);
  t.true(linkExists(`tap${portA.slice(0, 11)}`));
  t.true(hostPings('198.18.111.11'));
});

test.serial('pause ends PAUSED', async (t) => {
  const uuid = await sharedIn('RUNNING');
  t.is((await ok('POST', `/v1/instances/${uuid}/pause`)).state, 'PAUSED');
});

test.serial('a soft reboot from paused ends RUNNING with the VIF plugged again', async (t) => {
  const uuid = await sharedIn('PAUSED');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'SOFT' })).state, 'RUNNING', 'a soft reboot ends running from paused');
  t.true(hostPings('198.18.111.11'), 'the VIF is plugged again after the reboot');
});

test.serial('suspend ends SUSPENDED, and get_info says so', async (t) => {
  const uuid = await sharedIn('RUNNING');
  t.is((await ok('POST', `/v1/instances/${uuid}/suspend`)).state, 'SUSPENDED');
  t.is(await stateOf(uuid), 'SUSPENDED');
});

test.serial('resume from suspended ends RUNNING', async (t) => {
  const uuid = await sharedIn('SUSPENDED');
  t.is((await ok('POST', `/v1/instances/${uuid}/resume`, {})).state, 'RUNNING');
});

test.serial('power-off ends SHUTDOWN, its timeout bounding the graceful stop', async (t) => {
  const uuid = await sharedIn('RUNNING');
  const started = Date.now();
  t.is((await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 1 })).state, 'SHUTDOWN');
  t.true(Date.now() - started < 8000, 'the timeout bounds the graceful stop');
  t.is((await ok('GET', `/v1/instances/${uuid}`)).state, 'SHUTDOWN', 'the answer is what the instance reads afterwards');
});

test.serial('a stopped instance cannot be paused', async (t) => {
  const uuid = await sharedIn('SHUTDOWN');
  t.is((await call('POST', `/v1/instances/${uuid}/pause`)).statusCode, 409, 'a stopped instance cannot be paused');
});

test.serial('a hard reboot from stopped ends RUNNING', async (t) => {
  const uuid = await sharedIn('SHUTDOWN');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'HARD' })).state, 'RUNNING', 'a hard reboot ends running from stopped');
});

test.serial('a hard reboot from paused ends RUNNING', async (t) => {
  const uuid = await sharedIn('RUNNING');
  t.is((await ok('POST', `/v1/instances/${uuid}/pause`)).state, 'PAUSED');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'HARD' })).state, 'RUNNING', 'a hard reboot ends running from paused');
});

test.serial('a soft reboot from stopped ends RUNNING', async (t) => {
  const uuid = await sharedIn('RUNNING');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 0 })).state, 'SHUTDOWN');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'SOFT' })).state, 'RUNNING', 'a soft reboot ends running from stopped');
});

test.serial('power-on after a power-off ends RUNNING with the data kept and the VIF plugged again', async (t) => {
  const uuid = await sharedIn('RUNNING');
  inside(await pidOf(uuid), 'sh', '-c', 'echo kept > /root/data');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 0 })).state, 'SHUTDOWN');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-on`, { network_info: [vifA] })).state, 'RUNNING');
  t.is(inside(await pidOf(uuid), 'cat', '/root/data').trim(), 'kept', 'power off keeps the data');
  t.true(hostPings('198.18.111.11'));
});

test.serial('the console shows what the instance printed', async (t) => {
  const uuid = await sharedIn('RUNNING');
  t.regex((await ok('GET', `/v1/instances/${uuid}/console`)).output, /booted as web/);
});

test.serial('destroy removes the instance and unplugs its VIF', async (t) => {
  const uuid = await sharedIn('RUNNING');
  await ok('DELETE', `/v1/instances/${uuid}`);
  t.is((await call('GET', `/v1/instances/${uuid}`)).statusCode, 404);
  t.false(linkExists(`tap${portA.slice(0, 11)}`));
});

test.serial('destroy of an instance already destroyed succeeds', async (t) => {
  const { uuid } = await spawnShared();
  if ((await call('GET', `/v1/instances/${uuid}`)).statusCode !== 404) await ok('DELETE', `/v1/instances/${uuid}`);
  t.is((await call('DELETE', `/v1/instances/${uuid}`)).statusCode, 204, 'destroy again succeeds');
});

test.serial('attach_interface plugs the VIF as the next ethN, detach_interface removes it', async (t) => {
  const uuid = uuids.next();
  await ok('POST', '/v1/instances', spawnBody(uuid, { network_info: [{ ...vifA, ips: [{ address: '198.18.111.12', prefix: 24 }] }] }));
  await ok('POST', `/v1/instances/${uuid}/interfaces`, { vif: vifB });
  const pid = await pidOf(uuid);
  t.regex(ipInside(pid, 'addr', 'show', 'eth1'), /inet 198\.18\.112\.11\/24/);
  t.true(hostPings('198.18.112.11'));
  t.is((await call('POST', `/v1/instances/${uuid}/interfaces`, { vif: vifB })).statusCode, 409, 'the same VIF twice is a conflict');
  await ok('DELETE', `/v1/instances/${uuid}/interfaces/${portB}`);
  t.false(linkExists(`tap${portB.slice(0, 11)}`));
  t.notRegex(ipInside(pid, 'link'), /eth1/);
  await ok('DELETE', `/v1/instances/${uuid}`);
});

test.serial('power_on=false leaves the instance SHUTDOWN; power-on starts it', async (t) => {
  const uuid = uuids.next();
  t.is((await ok('POST', '/v1/instances', spawnBody(uuid, { power_on: false }))).state, 'SHUTDOWN');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-on`, {})).state, 'RUNNING');
  t.is((await call('POST', '/v1/instances', spawnBody(uuid))).statusCode, 409, 'a second spawn of the same uuid is a conflict');
  await ok('DELETE', `/v1/instances/${uuid}`);
});

test.serial('a failed spawn leaves nothing behind; an instance whose processes fail is CRASHED', async (t) => {
  // Several times: the processes end before, while or after the VIF is plugged, and each must read the same.
  for (let attempt = 0; attempt < 4; attempt++) {
    const failing = uuids.next();
    const answer = await call('POST', '/v1/instances', spawnBody(failing, { command: ['sh', '-c', 'exit 3'], network_info: [{ ...vifA, ips: [] }] }));
    t.is(answer.statusCode, 400, answer.body);
    t.regex(answer.json().message, /stopped right after start \(exit code 3\)/);
    t.deepEqual(await instanceNames(await realEngine(), failing), []);
    t.false(linkExists(`tap${portA.slice(0, 11)}`));
  }

  const missing = uuids.next();
  const noImage = await call('POST', '/v1/instances', spawnBody(missing, { image: '127.0.0.1:5310/nothing/here:1' }));
  t.true(noImage.statusCode >= 400 && noImage.statusCode < 600, noImage.body);
  t.regex(noImage.json().message, /127\.0\.0\.1:5310\/nothing\/here:1/);
  t.deepEqual(await instanceNames(await realEngine(), missing), []);

  const crashing = uuids.next();
  await ok('POST', '/v1/instances', spawnBody(crashing, { command: ['sh', '-c', 'sleep 1; exit 3'] }));
  await new Promise((resolve) => setTimeout(resolve, 2500));
  t.like(await ok('GET', `/v1/instances/${crashing}`), { power_state: 6, state: 'CRASHED' });
  await ok('DELETE', `/v1/instances/${crashing}`);
});

test.serial('snapshot commits and pushes to the registry; a new instance boots from the pinned reference', async (t) => {
  const uuid = uuids.next();
  await ok('POST', '/v1/instances', spawnBody(uuid));
  inside(await pidOf(uuid), 'sh', '-c', 'echo from-the-snapshot > /root/mark');
  const { image } = await ok('POST', `/v1/instances/${uuid}/snapshot`, { image_id: 'glance-image-1' });
  t.regex(image, new RegExp(`^127\\.0\\.0\\.1:5310/nova-snapshots/${uuid}@sha256:[a-f0-9]{64}$`));
  pulledImages.push(image);
  await ok('DELETE', `/v1/instances/${uuid}`);
  const engine = await realEngine();
  await engine.removeImage(image).catch(() => undefined); // the copy must come from the registry

  const restored = uuids.next();
  t.is((await ok('POST', '/v1/instances', spawnBody(restored, { image }))).state, 'RUNNING');
  t.is(inside(await pidOf(restored), 'cat', '/root/mark').trim(), 'from-the-snapshot');
  await ok('DELETE', `/v1/instances/${restored}`);
});
