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

test.serial('spawn: flavor, metadata as environment, injected files and a VIF with its own IP; every power verb ends where Nova expects', async (t) => {
  const uuid = uuids.next();
  const spawned = await ok(
    'POST',
    '/v1/instances',
    spawnBody(uuid, {
      hostname: 'web-1',
      metadata: { ROLE: 'web', GREETING: 'hello world' },
      injected_files: [{ path: '/etc/dockvisor/motd', contents: Buffer.from('injected\n').toString('base64') }],
      network_info: [vifA],
      command: ['sh', '-c', 'echo booted as $ROLE; exec sleep 100000'],
    }),
  );
  t.like(spawned, { uuid, container: `nova-${uuid}`, power_state: 1, state: 'RUNNING' });
  const engine = await realEngine();
  const config = await engine.inspectContainer(`nova-${uuid}`);
  t.is(config.HostConfig.Memory, 64 * 1024 * 1024);
  t.is(config.HostConfig.CpuQuota, 100_000);
  t.is(config.Config.Hostname, 'web-1');

  let pid = await pidOf(uuid);
  t.regex(inside(pid, 'cat', '/etc/dockvisor/motd'), /^injected$/m);
  t.regex(inside(pid, 'cat', `/proc/1/environ`).replace(/\0/g, '\n'), /^GREETING=hello world$/m);
  const eth0 = ipInside(pid, 'addr', 'show', 'eth0');
  t.regex(eth0, /link\/ether 02:00:c6:12:6f:0b/);
  t.regex(eth0, /inet 198\.18\.111\.11\/24/);
  t.regex(eth0, /mtu 1400/);
  t.regex(ipInside(pid, 'route'), /default via 198\.18\.111\.1 dev eth0/);
  t.regex(inside(pid, 'cat', '/etc/resolv.conf'), /nameserver 198\.18\.111\.53/);
  t.true(linkExists(`tap${portA.slice(0, 11)}`));
  t.true(hostPings('198.18.111.11'));

  t.is((await ok('POST', `/v1/instances/${uuid}/pause`)).state, 'PAUSED');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'SOFT' })).state, 'RUNNING', 'a soft reboot ends running from paused');
  t.true(hostPings('198.18.111.11'), 'the VIF is plugged again after the reboot');
  t.is((await ok('POST', `/v1/instances/${uuid}/suspend`)).state, 'SUSPENDED');
  t.is(await stateOf(uuid), 'SUSPENDED');
  t.is((await ok('POST', `/v1/instances/${uuid}/resume`, {})).state, 'RUNNING');

  pid = await pidOf(uuid);
  inside(pid, 'sh', '-c', 'echo kept > /root/data');
  const started = Date.now();
  t.is((await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 1 })).state, 'SHUTDOWN');
  t.true(Date.now() - started < 8000, 'the timeout bounds the graceful stop');
  t.is((await call('POST', `/v1/instances/${uuid}/pause`)).statusCode, 409, 'a stopped instance cannot be paused');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'HARD' })).state, 'RUNNING', 'a hard reboot ends running from stopped');
  t.is((await ok('POST', `/v1/instances/${uuid}/pause`)).state, 'PAUSED');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'HARD' })).state, 'RUNNING', 'a hard reboot ends running from paused');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 0 })).state, 'SHUTDOWN');
  t.is((await ok('POST', `/v1/instances/${uuid}/reboot`, { type: 'SOFT' })).state, 'RUNNING', 'a soft reboot ends running from stopped');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-off`, { timeout: 0 })).state, 'SHUTDOWN');
  t.is((await ok('POST', `/v1/instances/${uuid}/power-on`, { network_info: [vifA] })).state, 'RUNNING');
  pid = await pidOf(uuid);
  t.is(inside(pid, 'cat', '/root/data').trim(), 'kept', 'power off keeps the data');
  t.true(hostPings('198.18.111.11'));
  t.regex((await ok('GET', `/v1/instances/${uuid}/console`)).output, /booted as web/);

  await ok('DELETE', `/v1/instances/${uuid}`);
  t.is((await call('GET', `/v1/instances/${uuid}`)).statusCode, 404);
  t.false(linkExists(`tap${portA.slice(0, 11)}`));
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
