import test from 'ava';
import { addPortsArgv, ovsdbString, portColumns, recordName } from '../drivers/core/ovs-switch.ts';
import { vlanList } from '../drivers/opennebula/ovs-nic.ts';
import { hybridNames } from '../drivers/nova/ovs-vifs.ts';
import { vifNic } from '../drivers/nova/vif-nics.ts';

test("a port is added and marked as the VM's in one transaction, its values quoted as OVSDB strings", (t) => {
  const argv = addPortsArgv('dockvisor:opennebula:7', [
    { name: 'one-7-0', bridge: 'br0', spec: { tag: 100, trunks: [5, 6], vlanMode: 'native-untagged' }, mtu: 1450 },
  ]);
  t.deepEqual(argv, [
    'ovs-vsctl',
    '--timeout=20',
    '--',
    'add-port',
    'br0',
    'one-7-0',
    '--',
    'set',
    'Port',
    'one-7-0',
    'external_ids:dockvisor-owner="dockvisor:opennebula:7"',
    'tag=100',
    'trunks=[5,6]',
    'vlan_mode=native-untagged',
    '--',
    'set',
    'Interface',
    'one-7-0',
    'external_ids:dockvisor-owner="dockvisor:opennebula:7"',
    'mtu_request=1450',
  ]);
});

test("an ovs VIF's port carries Neutron's external_ids; a hybrid one is the qvo end, named as os-vif names it", (t) => {
  const vif = { id: 'c3c3c3c3-0000-4000-8000-000000000003', address: '02:00:C6:12:72:0B', bridge: 'br-int', type: 'ovs', ips: [], dns: [] };
  const plain = vifNic(vif, 0, 'dcf60a06-0000-4000-8000-000000000001');
  t.is(plain.bridgeType, 'openvswitch');
  t.deepEqual(plain.ovs, {
    interfaceIds: {
      'iface-id': vif.id,
      'iface-status': 'active',
      'attached-mac': '02:00:c6:12:72:0b',
      'vm-uuid': 'dcf60a06-0000-4000-8000-000000000001',
    },
  });
  const hybrid = vifNic({ ...vif, details: { ovs_hybrid_plug: true } }, 0, 'dcf60a06-0000-4000-8000-000000000001');
  t.deepEqual(hybrid.ovs?.hybrid, { linuxBridge: 'qbrc3c3c3c3-00', bridgeEnd: 'qvbc3c3c3c3-00', switchEnd: 'qvoc3c3c3c3-00' });
  t.deepEqual(hybridNames(vif.id), hybrid.ovs?.hybrid);
  t.throws(() => vifNic({ ...vif, type: 'vhostuser' }, 0), {
    name: 'InvalidInputError',
    message: /VIF type "vhostuser" is not supported by dockvisor \(bridge or ovs\)/,
  });
});

test('names and values with shell or OVSDB syntax never reach ovs-vsctl', (t) => {
  for (const name of ['br0 -- del-br x', 'a,b', 'x"=y', '{}', '--if-exists', 'a=b', '']) {
    t.throws(() => recordName(name), { name: 'InvalidInputError' }, name);
  }
  for (const value of ['x"=y', 'a,b', '{}', 'a b', '', 'a\\"']) t.throws(() => ovsdbString(value), { name: 'InvalidInputError' }, value);
  t.is(ovsdbString('dockvisor:nova:dcf60a06-0000-4000-8000-000000000001'), '"dockvisor:nova:dcf60a06-0000-4000-8000-000000000001"');
  t.throws(() => portColumns({ tag: 4096 }), { message: /VLAN id 4096 is not from 0 to 4095/ });
});

test('VLAN lists are read as OpenNebula writes them', (t) => {
  t.deepEqual(vlanList('100, 200-202,5', 'VLAN_TAGGED_ID'), [5, 100, 200, 201, 202]);
  t.deepEqual(vlanList('9-7', 'VLAN_TAGGED_ID'), [7, 8, 9]);
  t.deepEqual(vlanList(undefined, 'VLAN_TAGGED_ID'), []);
  for (const bad of ['1;2', '1,', '-1', '1--2', '[1]', '5000']) t.throws(() => vlanList(bad, 'VLAN_TAGGED_ID'), { name: 'InvalidInputError' }, bad);
});
