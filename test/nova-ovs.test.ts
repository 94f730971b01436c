import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, instanceNames, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { deleteLink, httpLastLineFrom, linkAlias, linksStartingWith, pingsFrom } from './helpers/net.ts';
import { installHybridFirewall, removeHybridFirewall, simulateEngineRestart, type HybridPort } from './helpers/neutron-hybrid-firewall.ts';
import { bridgeOfPort, createOvsBridge, deleteOvsBridge, deleteOvsPorts, ovsColumn, ovsPortsStartingWith, requireOvs } from './helpers/ovs.ts';
import { repoRoot } from './helpers/paths.ts';
import { testConfigPath } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';
import { runAction } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';

const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const integration = ids.bridge('0');
const portX = 'd6d6d6d6-0000-4000-8000-000000000001';
const portY = 'e7e7e7e7-0000-4000-8000-000000000002';
const portZ = 'f8f8f8f8-0000-4000-8000-000000000003';
const devices = ['d6d6d6d6', 'e7e7e7e7', 'f8f8f8f8'].flatMap((id) => ['tap', 'qbr', 'qvb', 'qvo'].map((prefix) => `${prefix}${id}`));
const vif = (id: string, mac: string, host: number, extra: Record<string, unknown> = {}) => ({
  id,
  address: mac,
  bridge: integration,
  type: 'ovs',
  ips: [{ address: ids.address(0, host), prefix: 24 }],
  dns: [],
  ...extra,
});
const vifX = vif(portX, '02:00:c6:12:ab:0b', 11);
const vifY = vif(portY, '02:00:c6:12:ab:0c', 12, { details: { ovs_hybrid_plug: true } });
// Y serves the same file on two ports; its security group opens only the first.
const SERVE = ['sh', '-c', 'mkdir -p /www && seq 1 40000 > /www/f && httpd -p 8081 -h /www && exec httpd -f -p 8080 -h /www'];
const firewallY: HybridPort = { portId: portY, ip: ids.address(0, 12), mac: vifY.address, openPort: 8080, zone: 4097 };
let compute: TestCompute;
const X = uuids.next();
const Y = uuids.next();

/** An OpenNebula VM on the same Open vSwitch bridge as the instances: one L2 network for both front-ends. */
const ONE_VM = ids.vm(0);
const oneVm: VmDraft = { id: ONE_VM, nics: [{ nicId: 0, bridge: integration, openvswitch: true, ip: ids.address(0, 21), mask: '255.255.255.0' }] };

async function cleanup(): Promise<void> {
  await removeInstances(await realEngine(), uuids.prefix);
  await removeContainersOf(await realEngine(), [ONE_VM]);
  deleteOvsPorts(`one-${ONE_VM}-0`);
  for (const link of linksStartingWith(`one-${ONE_VM}-`)) deleteLink(link);
  removeHybridFirewall(firewallY);
  deleteOvsPorts(...devices);
  for (const link of linksStartingWith(...devices)) deleteLink(link);
  deleteOvsBridge(integration);
}

test.before(async () => {
  requireOvs();
  await cleanup();
  createOvsBridge(integration);
  compute = await testCompute({ config: testConfigPath({ shutdownTimeoutSeconds: 3 }, 'nova-ovs.json') });
  await ok('POST', '/v1/instances', spawnBody(X, { network_info: [vifX] }));
  await ok('POST', '/v1/instances', spawnBody(Y, { network_info: [vifY], command: SERVE }));
});

test.after.always(async () => {
  await compute?.close();
  await cleanup();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  return compute.app.inject({ method, url, headers: auth, payload: payload as object | undefined });
}

async function ok(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const answer = await call(method, url, payload);
  if (answer.statusCode >= 300) throw new Error(`${method} ${url}: ${answer.statusCode} ${answer.body}`);
  return answer;
}

async function pidOf(uuid: string): Promise<number> {
  return (await (await realEngine()).inspectContainer(`nova-${uuid}`)).State.Pid;
}

test.serial("an ovs VIF is a port on the VIF's bridge named after devname, with the external_ids Neutron's agent reads", (t) => {
  const tap = `tap${portX.slice(0, 11)}`;
  t.is(bridgeOfPort(tap), integration);
  t.is(ovsColumn('Interface', tap, 'external_ids:iface-id'), `"${portX}"`);
  t.is(ovsColumn('Interface', tap, 'external_ids:iface-status'), 'active');
  t.is(ovsColumn('Interface', tap, 'external_ids:attached-mac'), `"${vifX.address}"`);
  t.is(ovsColumn('Interface', tap, 'external_ids:vm-uuid'), `"${X}"`);
  t.is(ovsColumn('Port', tap, 'external_ids:dockvisor-owner'), `"dockvisor:nova:${X}"`);
});

test.serial('the hybrid plug: the tap in qbr<id>, the veth qvb<id>/qvo<id> between it and the switch, qvo carrying the external_ids', (t) => {
  const id = portY.slice(0, 11);
  t.is(bridgeOfPort(`tap${id}`), undefined, 'the tap is not on the switch');
  for (const port of [`tap${id}`, `qvb${id}`]) t.true(existsSync(`/sys/class/net/qbr${id}/brif/${port}`), `${port} is in qbr${id}`);
  t.is(bridgeOfPort(`qvo${id}`), integration);
  t.is(ovsColumn('Interface', `qvo${id}`, 'external_ids:iface-id'), `"${portY}"`);
  t.is(ovsColumn('Interface', `qvo${id}`, 'external_ids:vm-uuid'), `"${Y}"`);
  for (const link of [`qbr${id}`, `qvb${id}`, `qvo${id}`]) t.is(linkAlias(link), `dockvisor:nova:${Y}`, `${link} is marked as the instance's`);
});

test.serial(
  "Neutron's hybrid firewall filters the instance: what its group opens is open, what it closes is closed, also after the engine re-inserts its chains",
  async (t) => {
    const pid = await pidOf(X);
    t.false(pingsFrom(pid, ids.address(0, 12)), "without Neutron's rules, Docker's FORWARD policy drops what crosses qbr");
    installHybridFirewall(firewallY);
    t.true(pingsFrom(pid, ids.address(0, 12)), 'ICMP: open');
    t.is(httpLastLineFrom(pid, ids.address(0, 12), 8080), '40000', 'TCP 8080: open, the whole file');
    t.is(httpLastLineFrom(pid, ids.address(0, 12), 8081), '', 'TCP 8081: closed');
    // dockerd is not restarted here: other test files use it at the same time. What it does to FORWARD when it
    // starts (its jumps back on top, DOCKER-USER first) is done by hand instead.
    simulateEngineRestart();
    t.true(pingsFrom(pid, ids.address(0, 12)), 'ICMP: still open');
    t.is(httpLastLineFrom(pid, ids.address(0, 12), 8080), '40000', 'TCP 8080: still open');
    t.is(httpLastLineFrom(pid, ids.address(0, 12), 8081), '', 'TCP 8081: still closed');
  },
);

test.serial("an OpenNebula VM and a Nova instance on one Open vSwitch bridge reach each other; terminate takes the VM's port away", async (t) => {
  const deployed = await runAction('deploy', deployArgv(ONE_VM), vmXml(oneVm), testConfigPath({}, 'nova-ovs-one.json'));
  t.is(deployed.code, 0, deployed.stderr);
  const vmPid = (await (await realEngine()).inspectContainer(`one-${ONE_VM}`)).State.Pid;
  t.true(pingsFrom(await pidOf(X), ids.address(0, 21)), 'instance to VM');
  t.true(pingsFrom(vmPid, ids.address(0, 11)), 'VM to instance');
  const terminated = await runAction('shutdown', idArgv(ONE_VM), actionXml({ ...oneVm, lcmState: 12 }), testConfigPath({}, 'nova-ovs-one.json'));
  t.is(terminated.code, 0, terminated.stderr);
  t.deepEqual(ovsPortsStartingWith(`one-${ONE_VM}-`), []);
  t.deepEqual(linksStartingWith(`one-${ONE_VM}-`), []);
});

test.serial('attach and detach an ovs VIF; power-off, power-on and destroy leave nothing behind', async (t) => {
  const vifZ = vif(portZ, '02:00:c6:12:ab:0d', 13, { details: { ovs_hybrid_plug: true } });
  await ok('POST', `/v1/instances/${X}/interfaces`, { vif: vifZ });
  t.is(bridgeOfPort(`qvo${portZ.slice(0, 11)}`), integration);
  await ok('DELETE', `/v1/instances/${X}/interfaces/${portZ}`);
  t.deepEqual(ovsPortsStartingWith('qvof8f8f8f8', 'tapf8f8f8f8'), []);
  t.deepEqual(linksStartingWith('qbrf8f8f8f8', 'qvbf8f8f8f8', 'qvof8f8f8f8', 'tapf8f8f8f8'), []);

  await ok('POST', `/v1/instances/${Y}/power-off`, { timeout: 0 });
  t.deepEqual(ovsPortsStartingWith('qvoe7e7e7e7', 'tape7e7e7e7'), [], 'no port after power-off');
  t.deepEqual(linksStartingWith('qbre7e7e7e7', 'qvbe7e7e7e7', 'qvoe7e7e7e7', 'tape7e7e7e7'), [], 'no link after power-off');
  await ok('POST', `/v1/instances/${Y}/power-on`, { network_info: [vifY] });
  t.is(httpLastLineFrom(await pidOf(X), ids.address(0, 12), 8080), '40000', 'TCP through the hybrid plug again after power-on');

  for (const uuid of [X, Y]) await ok('DELETE', `/v1/instances/${uuid}`);
  t.deepEqual(ovsPortsStartingWith(...devices), [], 'no port in OVSDB');
  t.deepEqual(linksStartingWith(...devices), [], 'no link');
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
});

test.serial('VIF types other than bridge and ovs, and ovs fields with shell or OVSDB syntax, are refused and change nothing', async (t) => {
  const uuid = uuids.next();
  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ type: 'vhostuser' }, /VIF type "vhostuser" is not supported by dockvisor \(bridge or ovs\)/],
    [{ bridge: 'br0 -- del-br x' }, /bridge "br0 -- del-br x" is not a valid interface name/],
    [{ devname: 'x"=y' }, /devname "x"=y" is not a valid interface name/],
    [{ devname: '{}' }, /devname "\{\}" is not a valid interface name/],
    [{ ovs_interfaceid: 'a,b' }, /ovs_interfaceid/],
    [{ details: { ovs_hybrid_plug: true, port_filter: '--' } }, /details/],
  ];
  for (const [fields, pattern] of refusals) {
    const answer = await call('POST', '/v1/instances', spawnBody(uuid, { network_info: [vif(portZ, '02:00:c6:12:ab:0e', 14, fields)] }));
    t.is(answer.statusCode, 400, answer.body);
    t.regex(answer.json().message, pattern);
  }
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
  t.deepEqual(ovsPortsStartingWith(...devices), []);
});

test.serial('the Nova driver sends ovs VIFs with their hybrid plug, waits for network-vif-plugged, and refuses other types before calling the service', (t) => {
  const shim = mkdtempSync(join(tmpdir(), 'dvt-nova-ovs-'));
  try {
    const install = spawnSync('bash', [join(repoRoot, 'packaging/nova/install.sh'), '--target', shim], { encoding: 'utf8' });
    t.is(install.status, 0, install.stderr);
    const run = spawnSync('/usr/bin/python3', [join(repoRoot, 'test/fixtures/nova_shim_ovs.py')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, DVT_SHIM_PATH: shim, DVT_BRIDGE: integration },
    });
    t.is(run.status, 0, run.stderr.split('\n').slice(-15).join('\n'));
    const seen = JSON.parse(run.stdout);
    t.deepEqual(seen.spawn_body.network_info[0], {
      id: portY,
      address: vifY.address,
      bridge: integration,
      type: 'ovs',
      ovs_interfaceid: portY,
      details: { ovs_hybrid_plug: true },
      ips: [{ address: ids.address(0, 12), prefix: 24 }],
      dns: [],
    });
    t.is(seen.spawn_body.network_info[1].bridge, 'br-int', "an ovs VIF without a bridge goes to Nova's br-int");
    t.deepEqual(seen.awaited_events, [['network-vif-plugged', portY]]);
    t.regex(seen.refused, /^InterfaceAttachFailed: VIF type vhostuser is not supported by dockvisor \(only bridge, ovs\)/);
    t.false(seen.refused_called_service);
  } finally {
    rmSync(shim, { recursive: true, force: true });
  }
});
