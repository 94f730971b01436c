import test from 'ava';
import { shapingLines, shapedLinks } from '../drivers/core/nic-bandwidth.ts';
import { addressKey, parseAddresses } from '../drivers/core/guest-addresses.ts';
import { parseVmDocument } from '../drivers/opennebula/vm-document.ts';
import { vmmActions } from '../drivers/opennebula/vmm-actions.ts';
import { actionXml, deployArgv, idArgv, macFor, vmXml, type VmDraft } from '../drivers/opennebula/vm-document-builder.ts';
import { memoryHost } from './helpers/memory-host.ts';

// Addresses, aliases, routes and bandwidth limits as documents give them, and what the core makes of them, in
// memory. The same on a real engine, bridges and tc: opennebula-addresses, nova-addresses, opennebula-bandwidth.

const BRIDGE = 'br-mem';
const nic0 = { nicId: 0, bridge: BRIDGE, ip: '10.9.0.7', mask: '255.255.255.0' };
const vm = (extra: Partial<VmDraft> = {}): VmDraft => ({ id: 40, nics: [nic0], ...extra });
const nicsOf = (draft: VmDraft) => parseVmDocument(vmXml(draft)).spec.nics;

test('a NIC gets IP, IP6 with its prefix length and IP6_ULA as a /64; its aliases add theirs to the same NIC', (t) => {
  const [nic] = nicsOf(
    vm({
      nics: [{ ...nic0, ip6: '2001:db8:1::7', ip6Ula: 'fd00:1::7', ip6PrefixLength: '48' }],
      aliases: [
        { nicId: 1, aliasId: 0, parentId: 0, ip: '10.9.1.7', mask: '255.255.255.128', ip6: 'fd00:2::7' },
        { nicId: 2, aliasId: 1, parentId: 0, ip: '10.9.2.7' },
      ],
    }),
  );
  t.deepEqual(nic!.ipv4, [
    { address: '10.9.0.7', prefixLength: 24 },
    { address: '10.9.1.7', prefixLength: 25 },
    { address: '10.9.2.7', prefixLength: 24 },
  ]);
  t.deepEqual(nic!.ipv6, [
    { address: '2001:db8:1::7', prefixLength: 48 },
    { address: 'fd00:1::7', prefixLength: 64 },
    { address: 'fd00:2::7', prefixLength: 64 },
  ]);
});

test('an EXTERNAL alias, and one being detached (ATTACH=YES with its context gone), add no address', (t) => {
  const [nic] = nicsOf(
    vm({
      aliases: [
        { nicId: 1, aliasId: 0, parentId: 0, ip: '10.9.1.7', external: true },
        { nicId: 2, aliasId: 1, parentId: 0, ip: '10.9.2.7', attach: true, inContext: false },
        { nicId: 3, aliasId: 2, parentId: 0, ip: '10.9.3.7', attach: true },
      ],
    }),
  );
  t.deepEqual(
    nic!.ipv4.map((a) => a.address),
    ['10.9.0.7', '10.9.3.7'],
  );
});

test('ROUTES become routes of the NIC; a malformed one is refused with one line', (t) => {
  const [nic] = nicsOf(vm({ nics: [{ ...nic0, routes: '10.20.0.0/16 via 10.9.0.1, 10.30.0.5 via 10.9.0.2' }] }));
  t.deepEqual(nic!.routes, [
    { destination: '10.20.0.0', prefixLength: 16, via: '10.9.0.1' },
    { destination: '10.30.0.5', prefixLength: 32, via: '10.9.0.2' },
  ]);
  const refused: [string, RegExp][] = [
    ['10.20.0.0/16 10.9.0.1', /ROUTES entry "10.20.0.0\/16 10.9.0.1" is not "<network> via <gateway>"/],
    ['10.20.0.0/33 via 10.9.0.1', /is not a network/],
    ['10.20.0.1/16 via 10.9.0.1', /has host bits set/],
    ['10.20.0.0/16 via $(reboot)', /gateway "\$\(reboot\)" is not an IPv4 address/],
    ['10.20.0.0/16 via fd00::1', /is not an IPv4 address/],
    ['10.20.0.0/16 via 10.9.0.1; ip link del eth0', /is not "<network> via <gateway>"/],
    [Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16 via 10.9.0.1`).join(','), /at most 64/],
  ];
  for (const [routes, message] of refused) {
    const error = t.throws(() => nicsOf(vm({ nics: [{ ...nic0, routes }] })), { name: 'InvalidInputError', message }, routes.slice(0, 40));
    t.false(error?.message.includes('\n'), 'one line');
  }
});

test('a malformed alias address or parent is refused with one line', (t) => {
  const refused: [Partial<VmDraft>, RegExp][] = [
    [{ aliases: [{ nicId: 1, aliasId: 0, parentId: 0, ip: '10.9.1.300' }] }, /NIC_ALIAS 1: IP "10.9.1.300" is not an IPv4 address/],
    [{ aliases: [{ nicId: 1, aliasId: 0, parentId: 0, ip6: 'fd00::1/64' }] }, /NIC_ALIAS 1: IP6 "fd00::1\/64" is not an IPv6 address/],
    [{ aliases: [{ nicId: 1, aliasId: 0, parentId: 0, ip: '10.9.1.7', mask: '255.0.255.0' }] }, /NIC_ALIAS 1: MASK 255.0.255.0 is not a contiguous netmask/],
    [{ aliases: [{ nicId: 1, aliasId: 0, parentId: 5, ip: '10.9.1.7' }] }, /NIC_ALIAS 1: its parent NIC 5 is not a NIC of the VM/],
  ];
  for (const [extra, message] of refused) t.throws(() => nicsOf(vm(extra)), { name: 'InvalidInputError', message });
});

test('INBOUND_* and OUTBOUND_* become the NIC bandwidth in KB/s and KB; hostile values are refused with one line', (t) => {
  const qos = (attributes: Record<string, string>) => nicsOf(vm({ nics: [{ ...nic0, attributes }] }))[0]!.bandwidth;
  t.deepEqual(qos({ INBOUND_AVG_BW: '1000', INBOUND_PEAK_BW: '2000', INBOUND_PEAK_KB: '500', OUTBOUND_AVG_BW: '300' }), {
    inbound: { averageKBps: 1000, peakKBps: 2000, burstKB: 500 },
    outbound: { averageKBps: 300 },
  });
  t.is(qos({ INBOUND_AVG_BW: '0' }), undefined, '0 is no limit');
  const refused: [Record<string, string>, RegExp][] = [
    [{ INBOUND_AVG_BW: '-5' }, /INBOUND_AVG_BW "-5" is not a whole number from 0 to 4294967/],
    [{ OUTBOUND_AVG_BW: '1e9' }, /OUTBOUND_AVG_BW "1e9" is not a whole number/],
    [{ INBOUND_AVG_BW: '99999999999' }, /INBOUND_AVG_BW "99999999999" is not a whole number from 0 to 4294967/],
    [{ INBOUND_AVG_BW: 'fast' }, /INBOUND_AVG_BW "fast" is not a whole number/],
    [{ INBOUND_AVG_BW: '100', INBOUND_PEAK_KB: '4194304' }, /INBOUND_PEAK_KB "4194304" is not a whole number from 0 to 4194303/],
    [{ INBOUND_AVG_BW: '100; tc qdisc del dev eth0 root' }, /INBOUND_AVG_BW ".*" is not a whole number/],
    [{ OUTBOUND_PEAK_BW: '100' }, /OUTBOUND_PEAK_BW and OUTBOUND_PEAK_KB need OUTBOUND_AVG_BW/],
    [{ INBOUND_AVG_BW: '100', INBOUND_PEAK_BW: '50' }, /INBOUND_PEAK_BW 50 is below INBOUND_AVG_BW 100/],
  ];
  for (const [attributes, message] of refused) t.throws(() => qos(attributes), { name: 'InvalidInputError', message }, JSON.stringify(attributes));
});

test('tc lines: htb with rate, ceil, burst and a bounded quantum; an old limit is removed first, none added without a rate', (t) => {
  t.deepEqual(shapingLines('one-1-0', { averageKBps: 100, peakKBps: 200, burstKB: 64 }, false), [
    'qdisc add dev one-1-0 root handle 1: htb default 1',
    'class add dev one-1-0 parent 1: classid 1:1 htb rate 100kbps ceil 200kbps burst 64kb quantum 20000',
  ]);
  t.regex(shapingLines('x', { averageKBps: 1 }, false)[1]!, /quantum 1600$/);
  t.regex(shapingLines('x', { averageKBps: 4_294_967 }, false)[1]!, /quantum 200000$/);
  t.deepEqual(shapingLines('one-1-0', undefined, true), ['qdisc del dev one-1-0 root']);
  t.deepEqual(shapingLines('one-1-0', undefined, false), []);
  t.deepEqual([...shapedLinks('qdisc noqueue 0: dev lo root refcnt 2\nqdisc htb 1: dev one-1-0 root refcnt 2 r2q 10 default 0x1\n')], ['one-1-0']);
});

test('addresses inside are compared as ip prints them: IPv6 compressed, link-local ignored', (t) => {
  t.is(addressKey({ address: '2001:DB8:0:0::1', prefixLength: 64 }), '2001:db8::1/64');
  const json = JSON.stringify([
    {
      ifname: 'eth0',
      addr_info: [
        { local: '10.0.0.1', prefixlen: 24, scope: 'global' },
        { local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
  ]);
  t.deepEqual([...parseAddresses(json).get('eth0')!], ['10.0.0.1/24']);
});

const run = (host: ReturnType<typeof memoryHost>, action: string, argv: string[], stdin: string) => vmmActions[action]!(argv, stdin, host.services);

test('reconfigure adds an attached alias address, removes a detached one, and sets and lifts limits', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  const base = vm({ nics: [{ ...nic0, routes: '10.20.0.0/16 via 10.9.0.1', attributes: { INBOUND_AVG_BW: '100', OUTBOUND_AVG_BW: '50' } }] });
  await run(host, 'deploy', deployArgv(40), vmXml(base));
  const pid = (await host.engine.inspectContainer('one-40')).State.Pid;
  t.deepEqual(host.access.interfacesOf(pid).get('eth0')?.addresses, ['10.9.0.7/24']);
  t.regex(host.access.shapingOf('one-40-0').join('\n'), /rate 100kbps/);
  t.regex(host.access.shapingOf('eth0', pid).join('\n'), /rate 50kbps/);
  t.true(host.access.commands.some((c) => c.input?.includes('route replace 10.20.0.0/16 via 10.9.0.1')));

  const alias = { nicId: 1, aliasId: 0, parentId: 0, ip: '10.9.1.7', ip6: 'fd00::7', attach: true };
  await run(host, 'reconfigure', [...idArgv(40).slice(0, 1), 'hdb', '/x/disk.1', '40', 'localhost'], actionXml({ ...base, aliases: [alias] }));
  t.deepEqual(host.access.interfacesOf(pid).get('eth0')?.addresses, ['10.9.0.7/24', '10.9.1.7/24', 'fd00::7/64']);

  const detaching = { ...base, nics: [{ ...nic0, attributes: { INBOUND_AVG_BW: '200' } }], aliases: [{ ...alias, inContext: false }] };
  await run(host, 'reconfigure', ['one-40', 'hdb', '/x/disk.1', '40', 'localhost'], actionXml(detaching));
  t.deepEqual(host.access.interfacesOf(pid).get('eth0')?.addresses, ['10.9.0.7/24']);
  t.regex(host.access.shapingOf('one-40-0').join('\n'), /rate 200kbps/);
  t.deepEqual(host.access.shapingOf('eth0', pid), [], 'the outbound limit is gone');
});

test('attach_nic with an alias MAC is refused with one line: oned changes aliases through reconfigure', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  const draft = vm({ aliases: [{ nicId: 1, aliasId: 0, parentId: 0, ip: '10.9.1.7', attach: true }] });
  await run(host, 'deploy', deployArgv(40), vmXml(vm()));
  await t.throwsAsync(run(host, 'attach_nic', ['one-40', macFor(40, 1), BRIDGE, '-', 'bridge', 'one-40-1', '40', 'localhost'], actionXml(draft)), {
    message: /VM 40: MAC "02:00:00:28:01:01" is a NIC_ALIAS's; aliases change through reconfigure/,
  });
});
