import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadHostSettings } from '../drivers/core/host-settings.ts';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { createHost } from '../drivers/machine/provisioner.ts';
import { silentProgress } from '../drivers/machine/provision/progress.ts';
import type { NamedHost } from '../drivers/nova/compute-hosts.ts';
import { computeApp } from '../drivers/nova/service/compute-app.ts';
import { servedHosts } from '../drivers/nova/service/served-hosts.ts';
import { auth, removeInstances, spawnBody, TOKEN, uuidMaker } from './helpers/compute.ts';
import { createBridge, deleteBridge, linksStartingWith } from './helpers/net.ts';
import { BASE_IMAGE, stateDir } from './helpers/paths.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

// Two netns hosts with their own sshd and engine, recorded by the real provisioner; the service manages both over SSH.
const ids = testIds(import.meta.filename);
const rigBridge = ids.bridge('0');
const hostA = new TestHost('dvt-na', ids.address(0, 11), rigBridge, ids.cidr(1, 1));
const hostB = new TestHost('dvt-nb', ids.address(0, 12), rigBridge, ids.cidr(2, 1));
const ONE_USER = 'dvtnova';
const VM_BRIDGE = 'dvtnbr0';
const TIMEOUT_MS = 5000;
const work = join(stateDir, 'nova-remote-hosts');
const store = new HostStore(join(work, 'config', 'dockvisor', 'hosts'));
const configPath = join(work, 'dockvisor.json');
const uuids = uuidMaker(ids.uuidPrefix);
const onA = { uuid: uuids.next(), port: 'dvtnova-pa1', ip: ids.address(3, 10), gateway: ids.address(3, 1), ns: hostA.name, host: hostA, name: 'na' };
const onB = { uuid: uuids.next(), port: 'dvtnova-pb1', ip: ids.address(4, 10), gateway: ids.address(4, 1), ns: hostB.name, host: hostB, name: 'nb' };
type Placed = typeof onA;

let app: FastifyInstance | undefined;
let hosts: NamedHost[] = [];

function forgetOneUser(): void {
  execFileSync('sh', ['-c', `userdel -r ${ONE_USER} 2>/dev/null; rm -f /etc/sudoers.d/dockvisor-${ONE_USER}; true`]);
}

function inNamespace(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

function insideContainer(pid: number, ...args: string[]): string {
  return execFileSync('nsenter', [`--target=${pid}`, '--net', 'ip', ...args], { encoding: 'utf8' });
}

function vif(placed: Placed) {
  return {
    id: placed.port,
    address: placed === onA ? '02:00:c6:12:73:0a' : '02:00:c6:12:74:0a',
    bridge: VM_BRIDGE,
    ips: [{ address: placed.ip, prefix: 24 }],
    gateway: placed.gateway,
    dns: [placed.gateway],
  };
}

async function openService(): Promise<FastifyInstance> {
  hosts = servedHosts(loadHostSettings(configPath), configPath, { names: ['na', 'nb'], local: false }, store);
  return computeApp({ token: TOKEN, hosts, pushTimeoutMs: 60_000 });
}

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) {
  const answer = await app!.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
  return { status: answer.statusCode, body: answer.body ? (answer.json() as Record<string, unknown>) : {} };
}

async function pidOf(placed: Placed): Promise<number> {
  const engine = placed.host.engine.client();
  try {
    return (await engine.inspectContainer(`nova-${placed.uuid}`)).State.Pid;
  } finally {
    await engine.close();
  }
}

async function cleanEngines(): Promise<void> {
  for (const host of [hostA, hostB]) {
    const engine = host.engine.client();
    await removeInstances(engine, uuids.prefix).catch(() => undefined);
    await engine.close();
  }
}

test.before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  forgetOneUser();
  createBridge(rigBridge, ids.cidr(0, 1));
  await Promise.all([hostA.start(), hostB.start()]);
  // One operator key for both hosts.
  const key = join(work, 'id_ed25519');
  writeFileSync(key, hostA.ssh.privateKey, { mode: 0o600 });
  writeFileSync(join(stateDir, `sshd-${hostB.name}`, 'authorized_keys'), execFileSync('ssh-keygen', ['-y', '-f', key]), { mode: 0o600 });
  const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'config') };
  for (const [name, host] of [
    ['na', hostA],
    ['nb', hostB],
  ] as const) {
    const options = {
      ssh: `root@${host.address}`,
      identityFile: key,
      engineSocket: host.engine.socket,
      oneUser: ONE_USER,
      probeImage: BASE_IMAGE,
      register: false as const,
    };
    await createHost(store, name, options, { knownHostsFile: join(work, 'known_hosts'), acceptNewHostKey: true, env }, silentProgress);
  }
  for (const placed of [onA, onB]) {
    inNamespace(placed.ns, 'link', 'add', VM_BRIDGE, 'type', 'bridge');
    inNamespace(placed.ns, 'addr', 'add', `${placed.gateway}/24`, 'dev', VM_BRIDGE);
    inNamespace(placed.ns, 'link', 'set', VM_BRIDGE, 'up');
  }
  writeFileSync(configPath, JSON.stringify({ imagePull: 'never', shutdownTimeoutSeconds: 3, engineTimeoutMs: TIMEOUT_MS, stateDir: join(work, 'state') }));
  app = await openService();
});

test.after.always(async () => {
  await app?.close();
  await Promise.allSettled(hosts.map((host) => host.services.close()));
  await cleanEngines();
  const results = await Promise.allSettled([hostA.stop(), hostB.stop()]);
  deleteBridge(rigBridge);
  forgetOneUser();
  rmSync(work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

test.serial('spawn puts each instance on the named host, its VIF on a bridge inside that host', async (t) => {
  for (const placed of [onA, onB]) {
    const spawned = await call('POST', '/v1/instances', spawnBody(placed.uuid, { host: placed.name, network_info: [vif(placed)] }));
    t.is(spawned.status, 201, JSON.stringify(spawned.body));
    t.like(spawned.body, { uuid: placed.uuid, host: placed.name, state: 'RUNNING' });
    const tap = `tap${placed.port.slice(0, 11)}`;
    t.regex(
      inNamespace(placed.ns, '-o', 'link', 'show', 'dev', tap),
      new RegExp(`master ${VM_BRIDGE} .*state UP`),
      `the host end is in ${VM_BRIDGE} of ${placed.ns}`,
    );
    const pid = await pidOf(placed);
    t.regex(insideContainer(pid, '-o', '-4', 'addr', 'show', 'dev', 'eth0'), new RegExp(` inet ${placed.ip.replace(/\./g, '\\.')}/24 `));
    t.regex(insideContainer(pid, 'route', 'show', 'default'), new RegExp(`default via ${placed.gateway.replace(/\./g, '\\.')} dev eth0`));
    t.regex(
      readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8'),
      new RegExp(`nameserver ${placed.gateway.replace(/\./g, '\\.')}`),
      'resolv.conf written on the host',
    );
    execFileSync('ip', ['netns', 'exec', placed.ns, 'ping', '-c', '1', '-W', '2', placed.ip], { stdio: 'ignore', timeout: 5000 });
  }
  t.deepEqual(linksStartingWith('tapdvtnova', 'dvp'), [], "nothing was made in this machine's own namespace");
  const onOtherHost = await call(
    'POST',
    '/v1/instances',
    spawnBody(uuids.next(), { host: 'nb', network_info: [{ ...vif(onB), id: 'dvtnova-pb9', address: '02:00:c6:12:74:99', bridge: 'dvtnbr9' }] }),
  );
  t.is(onOtherHost.status, 400);
  t.regex(String(onOtherHost.body.message), /bridge dvtnbr9 does not exist on host nb/);
  const twice = await call('POST', '/v1/instances', spawnBody(onA.uuid, { host: 'nb', network_info: [vif(onB)] }));
  t.is(twice.status, 409, 'an instance on host A is not spawned again on host B');
  t.regex(String(twice.body.message), new RegExp(`instance ${onA.uuid} exists already on host na`));
  const engineOfB = hostB.engine.client();
  t.is(await engineOfB.findContainer(`nova-${onA.uuid}`), undefined);
  await engineOfB.close();
  const unknown = await call('POST', '/v1/instances', spawnBody(uuids.next(), { host: 'nowhere' }));
  t.is(unknown.status, 400);
  t.regex(String(unknown.body.message), /host nowhere is not managed by this service \(it manages na, nb\)/);
});

test.serial('every verb finds the instance on its host; the list spans both hosts or one', async (t) => {
  const steps: [string, string, object | undefined, string][] = [
    ['POST', 'power-off', { timeout: 0 }, 'SHUTDOWN'],
    ['POST', 'power-on', {}, 'RUNNING'],
    ['POST', 'pause', undefined, 'PAUSED'],
    ['POST', 'unpause', undefined, 'RUNNING'],
    ['POST', 'suspend', undefined, 'SUSPENDED'],
    ['POST', 'resume', {}, 'RUNNING'],
    ['POST', 'reboot', { type: 'SOFT' }, 'RUNNING'],
    ['POST', 'reboot', { type: 'HARD' }, 'RUNNING'],
  ];
  for (const placed of [onA, onB]) {
    for (const [method, verb, body, state] of steps) {
      const answer = await call(method as 'POST', `/v1/instances/${placed.uuid}/${verb}`, body);
      t.is(answer.status, 200, `${verb} on ${placed.name}: ${JSON.stringify(answer.body)}`);
      t.like(answer.body, { host: placed.name, state }, verb);
    }
    const pid = await pidOf(placed);
    t.regex(
      insideContainer(pid, '-o', '-4', 'addr', 'show', 'dev', 'eth0'),
      new RegExp(` inet ${placed.ip.replace(/\./g, '\\.')}/24 `),
      'NICs plugged again after the restarts',
    );
    t.is((await call('GET', `/v1/instances/${placed.uuid}/console`)).status, 200);
  }
  const all = (await call('GET', '/v1/instances')).body.uuids as string[];
  t.deepEqual(all.filter((uuid) => uuid.startsWith(uuids.prefix)).sort(), [onA.uuid, onB.uuid].sort());
  t.deepEqual((await call('GET', '/v1/instances?host=nb')).body.uuids, [onB.uuid]);

  // A service that has never seen the instances finds them on the engines.
  await app!.close();
  await Promise.allSettled(hosts.map((host) => host.services.close()));
  app = await openService();
  t.like((await call('POST', `/v1/instances/${onB.uuid}/pause`)).body, { host: 'nb', state: 'PAUSED' });
  const engineB = hostB.engine.client();
  t.true((await engineB.inspectContainer(`nova-${onB.uuid}`)).State.Paused, "paused on host B's engine");
  await engineB.close();
  t.like((await call('POST', `/v1/instances/${onB.uuid}/unpause`)).body, { state: 'RUNNING' });
  t.is((await call('GET', `/v1/instances/${uuids.next()}`)).status, 404);
});

test.serial('resources, inventory and uptime are per host', async (t) => {
  for (const placed of [onA, onB]) {
    const engine = placed.host.engine.client();
    const info = await engine.info();
    await engine.close();
    const resources = await call('GET', `/v1/host/resources?host=${placed.name}`);
    t.is(resources.status, 200, JSON.stringify(resources.body));
    t.like(resources.body, {
      hypervisor_hostname: info.Name,
      vcpus: info.NCPU,
      vcpus_used: 1,
      memory_mb_used: 64,
      local_gb_used: 1,
      hypervisor_type: 'docker',
    });
    t.true((resources.body.local_gb as number) > 0);
    const inventory = await call('GET', `/v1/host/inventory?host=${placed.name}`);
    t.like(inventory.body, { VCPU: { total: info.NCPU }, MEMORY_MB: { total: resources.body.memory_mb } });
    const uptime = await call('GET', `/v1/host/uptime?host=${placed.name}`);
    t.true((uptime.body.seconds as number) > 0);
  }
  t.is(
    (await call('GET', '/v1/host/resources')).body.hypervisor_hostname,
    (await call('GET', '/v1/host/resources?host=na')).body.hypervisor_hostname,
    'the first host by default',
  );
  const unknown = await call('GET', '/v1/host/resources?host=nowhere');
  t.is(unknown.status, 400);
  t.is((await call('GET', '/v1/host/resources?host=a%20b')).status, 400);
});

test.serial('a host whose sshd is down answers 503 naming it, within its timeout; the other host is still served', async (t) => {
  await hostB.ssh.stop();
  t.teardown(() => hostB.ssh.restart().catch(() => undefined));
  const timed = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const started = Date.now();
    const answer = await call(method, url, payload);
    t.true(Date.now() - started < TIMEOUT_MS + 3000, `${url} took ${Date.now() - started} ms`);
    return answer;
  };
  for (const [method, url, payload] of [
    ['GET', `/v1/instances/${onB.uuid}`],
    ['POST', `/v1/instances/${onB.uuid}/pause`],
    ['GET', '/v1/instances'],
    ['GET', '/v1/host/resources?host=nb'],
    ['POST', '/v1/instances', spawnBody(uuids.next(), { host: 'nb' })],
  ] as const) {
    const answer = await timed(method, url, payload);
    t.is(answer.status, 503, `${method} ${url}: ${JSON.stringify(answer.body)}`);
    t.is(answer.body.error, 'unavailable');
    t.regex(String(answer.body.message), /^host nb /, String(answer.body.message));
    t.log(`${method} ${url.split('?')[0]}: ${String(answer.body.message)}`);
  }
  t.like((await timed('GET', `/v1/instances/${onA.uuid}`)).body, { host: 'na', state: 'RUNNING' });
  t.like((await timed('POST', `/v1/instances/${onA.uuid}/pause`)).body, { host: 'na', state: 'PAUSED' });
  t.like((await timed('POST', `/v1/instances/${onA.uuid}/unpause`)).body, { state: 'RUNNING' });
  t.deepEqual((await timed('GET', '/v1/instances?host=na')).body.uuids, [onA.uuid]);
  t.is((await timed('GET', '/v1/host/resources?host=na')).status, 200);

  await hostB.ssh.restart();
  t.like((await call('GET', `/v1/instances/${onB.uuid}`)).body, { host: 'nb', state: 'RUNNING' }, 'served again once sshd is back');
});

test.serial('a host that never answers costs at most its timeout, and nothing to instances found elsewhere', async (t) => {
  // Host A's address on a port whose packets host A drops: connections neither open nor fail.
  const dropped = ['INPUT', '-p', 'tcp', '--dport', '2222', '-j', 'DROP'];
  execFileSync('ip', ['netns', 'exec', hostA.name, 'iptables', '-w', '-I', ...dropped]);
  const recorded = store.get('na');
  store.save({ ...recorded, name: 'nc', ssh: { ...recorded.ssh, port: 2222 } });
  const silentFirst = servedHosts(loadHostSettings(configPath), configPath, { names: ['nc', 'na'], local: false }, store);
  const service = await computeApp({ token: TOKEN, hosts: silentFirst, pushTimeoutMs: 60_000 });
  t.teardown(async () => {
    await service.close();
    await Promise.allSettled(silentFirst.map((host) => host.services.close()));
    store.remove('nc');
    execFileSync('ip', ['netns', 'exec', hostA.name, 'iptables', '-w', '-D', ...dropped]);
  });
  const timed = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const started = Date.now();
    const answer = await service.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
    return { status: answer.statusCode, body: answer.json() as Record<string, unknown>, ms: Date.now() - started };
  };
  const found = await timed('GET', `/v1/instances/${onA.uuid}`);
  t.like(found.body, { host: 'na', state: 'RUNNING' });
  t.true(found.ms < 2000, `found on na in ${found.ms} ms`);
  for (const [method, url, payload] of [
    ['POST', '/v1/instances', spawnBody(uuids.next())],
    ['GET', '/v1/instances'],
    ['GET', `/v1/instances/${uuids.next()}`],
  ] as const) {
    const answer = await timed(method, url, payload);
    t.is(answer.status, 503, `${method} ${url}: ${JSON.stringify(answer.body)}`);
    t.regex(String(answer.body.message), /^host nc /);
    t.true(answer.ms < TIMEOUT_MS + 3000, `${method} ${url} took ${answer.ms} ms`);
    t.log(`${method} ${url.split('?')[0]} after ${answer.ms} ms: ${String(answer.body.message)}`);
  }
});

test.serial('destroy on each host leaves nothing behind there', async (t) => {
  for (const placed of [onA, onB]) {
    t.is((await call('DELETE', `/v1/instances/${placed.uuid}`)).status, 204);
    t.is((await call('DELETE', `/v1/instances/${placed.uuid}`)).status, 204, 'already gone is no error');
    t.is((await call('GET', `/v1/instances/${placed.uuid}`)).status, 404);
    const engine = placed.host.engine.client();
    t.deepEqual(await engine.listContainers(['io.dockvisor.front-end=nova']), []);
    await engine.close();
    const links = inNamespace(placed.ns, '-o', 'link', 'show');
    t.false(/ (tapdvtnova|dvp)[^:]*:/.test(links), links);
  }
  t.deepEqual((await call('GET', '/v1/instances')).body.uuids, []);
});
