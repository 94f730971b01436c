import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadHostSettings } from '../drivers/core/host-settings.ts';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { SshHostAccess } from '../drivers/hosts/ssh-host-access.ts';
import type { NamedHost } from '../drivers/nova/compute-hosts.ts';
import { computeApp } from '../drivers/nova/service/compute-app.ts';
import { servedHosts } from '../drivers/nova/service/served-hosts.ts';
import { auth, removeInstances, spawnBody, TOKEN, uuidMaker } from './helpers/compute.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { iptables, netnsSecurityGroupHost, vxlanLink, vxlanPre, type VxlanNetwork } from './helpers/one-network-drivers.ts';
import { OpenNebulaSecurityGroups } from './helpers/opennebula-security-groups.ts';
import { containerEndpoint, netnsEndpoint, pings, tcpExchange, type Endpoint } from './helpers/overlay-traffic.ts';
import { stateDir, vmmRemotes } from './helpers/paths.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testConfigPath } from './helpers/vmm.ts';

// One VXLAN network over two netns hosts: OpenNebula VMs, Nova instances and a KVM stand-in on one L2 segment.
const ids = testIds(import.meta.filename);
const work = join(stateDir, 'overlay-vxlan');
const rig = ids.bridge('0');
const net: VxlanNetwork = { bridge: ids.bridge('1'), phydev: 'eth0', vlanId: 176, mtu: 1450 };
const overlay = (host: number) => ids.address(3, host);
const vmmConfig = (name: string) => join(stateDir, `overlay-vxlan-${name}.json`);
const hosts = {
  a: new TestHost('dvt-vxa', ids.address(0, 11), rig, ids.cidr(1, 1), { environment: { DOCKVISOR_CONFIG: vmmConfig('dvt-vxa') } }),
  b: new TestHost('dvt-vxb', ids.address(0, 12), rig, ids.cidr(2, 1), { environment: { DOCKVISOR_CONFIG: vmmConfig('dvt-vxb') } }),
};
type HostKey = keyof typeof hosts;
const KVM_NETNS = 'dvt-vxk';
const kvmTap = `one-${ids.vm(19)}-0`;
const store = new HostStore(join(work, 'hosts'));
const uuids = uuidMaker(ids.uuidPrefix);
const vms = {
  a: { id: ids.vm(0), on: 'a' as HostKey, ip: overlay(10) },
  b: { id: ids.vm(1), on: 'b' as HostKey, ip: overlay(11) },
};
const instances = {
  a: { uuid: uuids.next(), on: 'a' as HostKey, ip: overlay(20), port: 'dvtvx-pa1', mac: '02:00:c6:12:b3:14' },
  b: { uuid: uuids.next(), on: 'b' as HostKey, ip: overlay(21), port: 'dvtvx-pb1', mac: '02:00:c6:12:b3:15' },
};
const kvm = netnsEndpoint('kvm', overlay(30), KVM_NETNS);
const access: Partial<Record<HostKey, SshHostAccess>> = {};
let app: FastifyInstance | undefined;
let served: NamedHost[] = [];

const vmDraft = (vm: (typeof vms)['a']): VmDraft => ({
  id: vm.id,
  nics: [{ nicId: 0, bridge: net.bridge, ip: vm.ip, mtu: String(net.mtu), vnMad: 'vxlan', phydev: net.phydev, vlanId: String(net.vlanId) }],
});

/** A VMM action as oned runs it: on the host, over SSH, the document on stdin. */
function vmm(on: HostKey, action: string, argv: string[], document: string): Promise<string> {
  // `ip netns exec` gives the action a /sys of its host's own, as on a real host; the rig's sshd shares the machine's.
  return access[on]!.run(['ip', 'netns', 'exec', hosts[on].name, join(vmmRemotes, action), ...argv], { input: document });
}

async function pidOf(on: HostKey, container: string): Promise<number> {
  const engine = hosts[on].engine.client();
  try {
    return (await engine.inspectContainer(container)).State.Pid;
  } finally {
    await engine.close();
  }
}

const vmEndpoint = async (name: HostKey) => containerEndpoint(`vm-${name}`, vms[name].ip, await pidOf(vms[name].on, `one-${vms[name].id}`));
const instanceEndpoint = async (name: HostKey) =>
  containerEndpoint(`instance-${name}`, instances[name].ip, await pidOf(instances[name].on, `nova-${instances[name].uuid}`));

function inHost(on: HostKey, ...args: string[]): string {
  return execFileSync('ip', ['-n', hosts[on].name, ...args], { encoding: 'utf8', timeout: 10_000 });
}

/** Every pair that cannot reach each other with one echo. */
function unreachable(endpoints: Endpoint[]): string[] {
  return endpoints.flatMap((from) => endpoints.filter((to) => to !== from && !pings(from, to)).map((to) => `${from.name} -> ${to.name}`));
}

function recordHost(name: HostKey): void {
  const host = hosts[name];
  const identityFile = join(work, `${host.name}.key`);
  writeFileSync(identityFile, host.ssh.privateKey, { mode: 0o600 });
  const hostKey = readFileSync(join(stateDir, `sshd-${host.name}`, 'host_ed25519.pub'), 'utf8')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  const now = new Date().toISOString();
  store.save({
    name,
    ssh: { user: 'root', address: host.address, port: host.ssh.port, identityFile, hostKey },
    engineSocket: host.engine.socket,
    steps: {},
    createdAt: now,
    updatedAt: now,
  });
  testConfigPath({ engineSocket: host.engine.socket }, `overlay-vxlan-${host.name}.json`);
  access[name] = new SshHostAccess(store.get(name), 60_000);
}

function removeKvmStandIn(): void {
  if (existsSync(`/var/run/netns/${KVM_NETNS}`)) execFileSync('ip', ['netns', 'del', KVM_NETNS]);
}

test.before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  removeKvmStandIn();
  createBridge(rig, ids.cidr(0, 1));
  // The rig's bridge is the LAN between the hosts, not a VM network: the machine's own FORWARD policy stays out of it.
  execFileSync('iptables', ['-w', '-I', 'DOCKER-USER', '-i', rig, '-o', rig, '-j', 'ACCEPT']);
  await Promise.all([hosts.a.start(), hosts.b.start()]);
  for (const name of ['a', 'b'] as const) {
    // dockerd sets FORWARD to DROP where it turns forwarding on itself, as on a fresh host; the rig's namespaces
    // inherit forwarding from the machine, so their engines left ACCEPT: start them again as a fresh host has them.
    execFileSync('ip', ['netns', 'exec', hosts[name].name, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
    await hosts[name].engine.restart();
    vxlanPre(hosts[name].name, net);
    recordHost(name);
  }
  const config = testConfigPath({ engineTimeoutMs: 10_000 }, 'overlay-vxlan-nova.json');
  served = servedHosts(loadHostSettings(config), config, { names: ['a', 'b'], local: false }, store);
  app = await computeApp({ token: TOKEN, hosts: served, pushTimeoutMs: 60_000 });
});

test.after.always(async () => {
  await app?.close();
  await Promise.allSettled(served.map((host) => host.services.close()));
  await Promise.allSettled(Object.values(access).map((each) => each.close()));
  for (const host of Object.values(hosts)) {
    const engine = host.engine.client();
    await removeInstances(engine, uuids.prefix).catch(() => undefined);
    for (const vm of Object.values(vms)) await engine.removeContainer(`one-${vm.id}`).catch(() => undefined);
    await engine.close();
  }
  removeKvmStandIn();
  const results = await Promise.allSettled([hosts.a.stop(), hosts.b.stop()]);
  deleteBridge(rig);
  rmSync(work, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

test.serial('OpenNebula VMs on host A and host B get their leases on the vxlan network, whose filtering is left to OpenNebula', async (t) => {
  for (const vm of Object.values(vms)) {
    await vmm(vm.on, 'deploy', deployArgv(vm.id), vmXml(vmDraft(vm)));
    t.regex(inHost(vm.on, '-o', 'link', 'show', 'dev', `one-${vm.id}-0`), new RegExp(`master ${net.bridge} .*state UP`));
    const inside = execFileSync('nsenter', [`--target=${await pidOf(vm.on, `one-${vm.id}`)}`, '--net', 'ip', '-o', 'addr', 'show', 'dev', 'eth0'], {
      encoding: 'utf8',
    });
    t.regex(inside, new RegExp(` inet ${vm.ip.replace(/\./g, '\\.')}/24 `), `VM ${vm.id} has its lease`);
  }
  for (const name of ['a', 'b'] as const) {
    t.regex(inHost(name, '-d', 'link', 'show', 'dev', vxlanLink(net)), /vxlan id 176 group 239\.0\.0\.176 dev eth0/);
    // What a host with an engine is like: Docker's DROP policy, and bridged frames through iptables in its namespace.
    t.true(iptables(hosts[name].name, '-S', 'FORWARD').includes('-P FORWARD DROP'), `host ${name}: Docker's FORWARD policy`);
    t.is(execFileSync('ip', ['netns', 'exec', hosts[name].name, 'cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'], { encoding: 'utf8' }).trim(), '1');
    t.false(iptables(hosts[name].name, '-S').includes(`-i ${net.bridge} -o ${net.bridge} -j ACCEPT`), 'dockvisor opens no vxlan bridge itself');
  }
  t.false(pings(await vmEndpoint('a'), await vmEndpoint('b'), 1), "dropped until OpenNebula's post has put its chain");
});

test.serial("with the chain the vxlan driver's post leaves (no security groups), the VMs reach each other across the overlay", async (t) => {
  for (const host of Object.values(hosts)) new OpenNebulaSecurityGroups(netnsSecurityGroupHost(host.name)).globalBootstrap();
  const [a, b] = [await vmEndpoint('a'), await vmEndpoint('b')];
  t.deepEqual(unreachable([a, b]), []);
  t.is(await tcpExchange(a, b, 300_000), 'got vm-a 300000', 'full-size segments cross at the network MTU');
  t.is(await tcpExchange(b, a, 3000), 'got vm-b 3000');
});

test.serial('Nova instances on both hosts, their VIFs on the same bridge, reach each other and the OpenNebula VMs', async (t) => {
  for (const instance of Object.values(instances)) {
    const vif = { id: instance.port, address: instance.mac, bridge: net.bridge, mtu: net.mtu, ips: [{ address: instance.ip, prefix: 24 }], dns: [] };
    const answer = await app!.inject({
      method: 'POST',
      url: '/v1/instances',
      headers: auth,
      payload: spawnBody(instance.uuid, { host: instance.on, network_info: [vif] }),
    });
    t.is(answer.statusCode, 201, answer.body);
    t.regex(inHost(instance.on, '-o', 'link', 'show', 'dev', `tap${instance.port}`), new RegExp(`master ${net.bridge} .*state UP`));
  }
  const endpoints = [await instanceEndpoint('a'), await instanceEndpoint('b'), await vmEndpoint('a'), await vmEndpoint('b')];
  t.deepEqual(unreachable(endpoints), []);
  t.is(await tcpExchange(endpoints[0]!, endpoints[1]!, 300_000), 'got instance-a 300000');
  t.is(await tcpExchange(endpoints[1]!, endpoints[2]!, 3000), 'got instance-b 3000', 'a Nova instance on B talks to an OpenNebula VM on A');
});

test.serial("a KVM stand-in on host A's bridge, plugged as libvirt plugs a tap, reaches every VM and instance on both hosts", async (t) => {
  execFileSync('ip', ['netns', 'add', KVM_NETNS]);
  execFileSync('ip', ['link', 'add', kvmTap, 'netns', hosts.a.name, 'mtu', String(net.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', KVM_NETNS]);
  inHost('a', 'link', 'set', kvmTap, 'master', net.bridge, 'up');
  for (const args of [
    ['addr', 'add', `${kvm.ip}/24`, 'dev', 'eth0'],
    ['link', 'set', 'eth0', 'mtu', String(net.mtu), 'up'],
    ['link', 'set', 'lo', 'up'],
  ]) {
    execFileSync('ip', ['-n', KVM_NETNS, ...args]);
  }
  const others = [await vmEndpoint('a'), await vmEndpoint('b'), await instanceEndpoint('a'), await instanceEndpoint('b')];
  t.deepEqual(unreachable([kvm, ...others]), []);
  t.is(await tcpExchange(kvm, others[1]!, 300_000), 'got kvm 300000', 'to the OpenNebula VM on host B');
  t.is(await tcpExchange(others[3]!, kvm, 3000), 'got instance-b 3000', 'from the Nova instance on host B');
});

test.serial('terminate and destroy take their links out of the bridge; the VXLAN link and the KVM tap stay', async (t) => {
  for (const vm of Object.values(vms)) await vmm(vm.on, 'cancel', idArgv(vm.id), actionXml({ ...vmDraft(vm), lcmState: 12 }));
  for (const instance of Object.values(instances)) {
    const answer = await app!.inject({ method: 'DELETE', url: `/v1/instances/${instance.uuid}`, headers: auth });
    t.is(answer.statusCode, 204);
  }
  const ports = (on: HostKey) =>
    inHost(on, '-o', 'link', 'show', 'master', net.bridge)
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(': ')[1]!.split('@')[0]!)
      .sort();
  t.deepEqual(ports('a'), [vxlanLink(net), kvmTap].sort());
  t.deepEqual(ports('b'), [vxlanLink(net)]);
});
