import test from 'ava';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { deleteLink, httpLastLineFrom, ipInside, linkAlias, linkExists, linksStartingWith, pingsFrom } from './helpers/net.ts';
import { bridgeOfPort, createOvsBridge, deleteOvsBridge, deleteOvsPorts, ovsColumn, ovsPortsStartingWith, requireOvs, vsctl } from './helpers/ovs.ts';
import { assertOneLineRefusal, runAction } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, macFor, vmXml, type NicDraft, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const vmIds = Array.from({ length: 12 }, (_, i) => ids.vm(i));
const [A, B, C, D, E, F, G, H] = vmIds as [number, number, number, number, number, number, number, number];
const lan = ids.bridge('0');
const other = ids.bridge('1');
// Served by VM A: about 230 kB (the numbers 1 to 40000, a line each), so that the exchange spans many full-size TCP segments.
const SERVE = 'sh -c "mkdir -p /www && seq 1 40000 > /www/f && exec httpd -f -p 8080 -h /www"';

const nic = (vm: number, host: number, extra: Partial<NicDraft> = {}): NicDraft => ({
  nicId: 0,
  bridge: lan,
  openvswitch: true,
  ip: ids.address(0, host),
  mask: '255.255.255.0',
  ...extra,
});
const vmA: VmDraft = { id: A, name: 'ovs-a', nics: [nic(A, 11)], dockvisor: { CMD: SERVE } };
const vmB: VmDraft = { id: B, name: 'ovs-b', nics: [nic(B, 12)] };

async function ok(action: string, argv: string[], stdin: string): Promise<string> {
  const result = await runAction(action, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
  return result.stdout;
}

async function pidOf(id: number): Promise<number> {
  return (await (await realEngine()).inspectContainer(`one-${id}`)).State.Pid;
}

const cleanup = async () => {
  await removeContainersOf(await realEngine(), vmIds);
  deleteOvsPorts(...vmIds.map((id) => `one-${id}-`), 'dvt-ovs');
  for (const link of linksStartingWith(...vmIds.map((id) => `one-${id}-`))) deleteLink(link);
  deleteOvsBridge(lan);
  deleteOvsBridge(other);
};

test.before(async () => {
  requireOvs();
  await cleanup();
  createOvsBridge(lan);
  await ok('deploy', deployArgv(A), vmXml(vmA));
  await ok('deploy', deployArgv(B), vmXml(vmB));
});

test.after.always(cleanup);

test.serial('VMs on an Open vSwitch bridge reach each other: ping and a TCP exchange', async (t) => {
  const pidB = await pidOf(B);
  t.true(pingsFrom(pidB, ids.address(0, 11)), 'B pings A');
  t.is(httpLastLineFrom(pidB, ids.address(0, 11), 8080), '40000', 'B fetches the whole file from A over TCP');
});

test.serial("each NIC is a port named after its TARGET on the NIC's bridge, marked as the VM's on the port and its interface", (t) => {
  t.is(bridgeOfPort(`one-${A}-0`), lan);
  t.is(ovsColumn('Port', `one-${A}-0`, 'external_ids:dockvisor-owner'), `"dockvisor:opennebula:${A}"`);
  t.is(ovsColumn('Interface', `one-${A}-0`, 'external_ids:dockvisor-owner'), `"dockvisor:opennebula:${A}"`);
  t.is(ovsColumn('Port', `one-${A}-0`, 'tag'), '[]', 'no VLAN_ID: no tag');
  t.is(ovsColumn('Port', `one-${A}-0`, 'vlan_mode'), 'trunk', "no VLAN_ID: a trunk of every VLAN, as OpenNebula's driver sets it");
  t.is(linkAlias(`one-${A}-0`), `dockvisor:opennebula:${A}`);
});

test.serial('VLAN_ID tags the port and isolates; VLAN_TAGGED_ID trunks; QinQ makes a dot1q-tunnel port', async (t) => {
  const tagged = (id: number, host: number, vlan: string): VmDraft => ({
    id,
    name: `ovs-${id}`,
    nics: [nic(id, host, { attributes: { VLAN_ID: vlan } })],
  });
  await ok('deploy', deployArgv(C), vmXml(tagged(C, 13, '100')));
  await ok('deploy', deployArgv(D), vmXml(tagged(D, 14, '100')));
  await ok('deploy', deployArgv(E), vmXml(tagged(E, 15, '200')));
  const trunk: VmDraft = { id: F, nics: [nic(F, 16, { attributes: { VLAN_ID: '300', VLAN_TAGGED_ID: '100,200-202' } })] };
  await ok('deploy', deployArgv(F), vmXml(trunk));
  const qinq: VmDraft = { id: G, nics: [nic(G, 17, { attributes: { VLAN_ID: '400', CVLANS: '10-11', QINQ_TYPE: '802.1ad' } })] };
  await ok('deploy', deployArgv(G), vmXml(qinq));

  t.is(ovsColumn('Port', `one-${C}-0`, 'tag'), '100');
  t.is(ovsColumn('Port', `one-${C}-0`, 'vlan_mode'), 'native-untagged');
  t.is(ovsColumn('Port', `one-${F}-0`, 'trunks'), '[100, 200, 201, 202]');
  t.is(ovsColumn('Port', `one-${G}-0`, 'vlan_mode'), 'dot1q-tunnel');
  t.is(ovsColumn('Port', `one-${G}-0`, 'cvlans'), '[10, 11]');
  t.is(ovsColumn('Port', `one-${G}-0`, 'other_config:qinq-ethtype'), '"802.1ad"');

  const pidC = await pidOf(C);
  t.true(pingsFrom(pidC, ids.address(0, 14)), 'C reaches D on VLAN 100');
  t.false(pingsFrom(pidC, ids.address(0, 15)), 'C does not reach E on VLAN 200');
  t.false(pingsFrom(pidC, ids.address(0, 11)), 'C does not reach the untagged A');
  for (const id of [C, D, E, F, G]) await ok('shutdown', idArgv(id), actionXml({ id, nics: [nic(id, 1)], lcmState: 12 }));
  t.deepEqual(ovsPortsStartingWith(...[C, D, E, F, G].map((id) => `one-${id}-`)), []);
});

test.serial('attach_nic adds a port, detach_nic removes it and its link', async (t) => {
  vsctl('add-br', other, '--', 'set', 'Bridge', other, 'datapath_type=netdev');
  const second: NicDraft = { nicId: 1, bridge: other, openvswitch: true, ip: '198.18.170.111', attach: true, attributes: { VLAN_ID: '7' } };
  const withNic: VmDraft = { ...vmB, nics: [...vmB.nics!, second] };
  await ok('attach_nic', [`one-${B}`, macFor(B, 1), other, '-', 'ovswitch', `one-${B}-1`, String(B), 'localhost'], actionXml(withNic));
  t.is(bridgeOfPort(`one-${B}-1`), other);
  t.is(ovsColumn('Port', `one-${B}-1`, 'tag'), '7');
  t.regex(ipInside(await pidOf(B), '-o', 'addr', 'show', 'dev', 'eth1'), /198\.18\.170\.111\//);

  await ok('detach_nic', [`one-${B}`, macFor(B, 1), String(B), 'localhost'], actionXml(withNic));
  t.is(bridgeOfPort(`one-${B}-1`), undefined, 'no port left');
  t.false(linkExists(`one-${B}-1`), 'no link left');
  t.is(bridgeOfPort(`one-${B}-0`), lan, 'the first NIC is untouched');
});

test.serial('poweroff removes the port, resume plugs it again, terminate leaves nothing', async (t) => {
  await ok('shutdown', idArgv(B), actionXml({ ...vmB, lcmState: 18 }));
  t.deepEqual(ovsPortsStartingWith(`one-${B}-`), [], 'no port after poweroff');
  t.deepEqual(linksStartingWith(`one-${B}-`), [], 'no link after poweroff');

  await ok('deploy', deployArgv(B), vmXml({ ...vmB, lcmState: 20 }));
  t.is(bridgeOfPort(`one-${B}-0`), lan);
  t.is(httpLastLineFrom(await pidOf(B), ids.address(0, 11), 8080), '40000', 'TCP works again after resume');

  await ok('reboot', idArgv(B), actionXml(vmB));
  t.deepEqual(ovsPortsStartingWith(`one-${B}-`), [`one-${B}-0`], 'one port after a reboot, the old one replaced');
  t.true(pingsFrom(await pidOf(B), ids.address(0, 11)), 'B reaches A after its reboot');

  await ok('shutdown', idArgv(B), actionXml({ ...vmB, lcmState: 12 }));
  t.deepEqual(ovsPortsStartingWith(`one-${B}-`), [], 'no port after terminate');
  t.deepEqual(linksStartingWith(`one-${B}-`), [], 'no link after terminate');
  await ok('deploy', deployArgv(B), vmXml(vmB));
});

test.serial('cleanup removes the ports of a VM whose container is gone', async (t) => {
  await ok('deploy', deployArgv(H), vmXml({ id: H, nics: [nic(H, 18)] }));
  await (await realEngine()).removeContainer(`one-${H}`);
  t.deepEqual(ovsPortsStartingWith(`one-${H}-`), [`one-${H}-0`], 'the port outlives its container');
  await ok('cleanup', idArgv(H), actionXml({ id: H, nics: [nic(H, 18)] }));
  t.deepEqual(ovsPortsStartingWith(`one-${H}-`), []);
});

test.serial("a port of that name that is not the VM's refuses the deploy and is left alone; so is a missing bridge", async (t) => {
  const name = `one-${H}-0`;
  vsctl('add-port', lan, name);
  const result = await runAction('deploy', deployArgv(H), vmXml({ id: H, nics: [nic(H, 18)] }));
  assertOneLineRefusal(t, result, new RegExp(`Open vSwitch port named ${name} already exists .* not this VM's`));
  t.is(bridgeOfPort(name), lan, 'the port is still there');
  t.is(ovsColumn('Port', name, 'external_ids'), '{}', 'and still unmarked');
  await ok('cleanup', idArgv(H), actionXml({ id: H, nics: [nic(H, 18)] }));
  t.is(bridgeOfPort(name), lan, "cleanup leaves a port that is not the VM's");
  vsctl('del-port', name);

  const missing = await runAction('deploy', deployArgv(H), vmXml({ id: H, nics: [nic(H, 18, { bridge: 'dvt-ovs-none' })] }));
  assertOneLineRefusal(t, missing, /bridge dvt-ovs-none does not exist/);
  t.deepEqual(await containersOf(await realEngine(), [H]), [], 'no container was made');
  t.deepEqual(linksStartingWith(`one-${H}-`), []);
});

test.serial('Open vSwitch fields with shell or OVSDB syntax are refused in one line and change nothing', async (t) => {
  const switchState = () => [
    vsctl('list-br')
      .split('\n')
      .filter((name) => name.startsWith('dvt-ovs')),
    vsctl('list-ports', lan),
  ];
  const before = switchState();
  const hostile: [Partial<NicDraft>, RegExp][] = [
    [{ bridge: 'br0 -- del-br x' }, /BRIDGE "br0 -- del-br x" is not a valid interface name/],
    [{ bridge: `${lan},b` }, /BRIDGE .* is not a valid interface name/],
    [{ target: 'x"=y' }, /TARGET "x"=y" is not a valid interface name/],
    [{ target: '{}' }, /TARGET "\{\}" is not a valid interface name/],
    [{ target: '--if-exists' }, /TARGET .* is not a valid interface name/],
    [{ attributes: { VLAN_ID: '1 -- del-br x' } }, /VLAN_ID .* is not a whole number from 0 to 4095/],
    [{ attributes: { VLAN_ID: '4096' } }, /VLAN_ID "4096" is not a whole number from 0 to 4095/],
    [{ attributes: { VLAN_TAGGED_ID: '[1,2]' } }, /VLAN_TAGGED_ID .* is not a list of VLAN ids/],
    [{ attributes: { VLAN_TAGGED_ID: '1,2 -- del-br x' } }, /VLAN_TAGGED_ID .* is not a list of VLAN ids/],
    [{ attributes: { VLAN_ID: '5', CVLANS: '{}' } }, /CVLANS .* is not a list of VLAN ids/],
    [{ attributes: { VLAN_ID: '5', CVLANS: '1', QINQ_TYPE: '802.1q other_config:x=y' } }, /QINQ_TYPE .* is not 802.1q or 802.1ad/],
  ];
  for (const [fields, pattern] of hostile) {
    const result = await runAction('deploy', deployArgv(H), vmXml({ id: H, nics: [nic(H, 18, fields)] }));
    assertOneLineRefusal(t, result, pattern);
  }
  t.deepEqual(switchState(), before, 'Open vSwitch is as it was');
  t.deepEqual(linksStartingWith(`one-${H}-`), []);
});
