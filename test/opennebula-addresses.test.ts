import test from 'ava';
import { execFileSync } from 'node:child_process';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { BridgeNetns, pingArgv } from './helpers/bridge-netns.ts';
import { createBridge, deleteBridge, deleteLink, ipInside, linkExists, linksStartingWith } from './helpers/net.ts';
import { assertOneLineRefusal, runAction } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, macFor, vmXml, type AliasDraft, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const A = ids.vm(0);
const lan = ids.bridge('0');
const peer = new BridgeNetns('dvt-addr-peer', ids.bridge('n'));
// The peer stands in for a router on the network: ROUTES send 198.18.172.192/26 through it, where .200 answers.
const routed = ids.address(0, 200);
const nicA = {
  nicId: 0,
  bridge: lan,
  ip: ids.address(0, 11),
  mask: '255.255.255.0',
  gateway: ids.address(0, 1),
  mtu: '1400',
  ip6: '2001:db8:172::11',
  ip6PrefixLength: '64',
  ip6Ula: 'fd00:172::11',
  ip6Gateway: '2001:db8:172::1',
  routes: `${ids.address(0, 192)}/26 via ${ids.address(0, 2)}`,
};
const alias0: AliasDraft = { nicId: 1, aliasId: 0, parentId: 0, ip: ids.address(0, 111), ip6: 'fd00:174::11' };
const vmA: VmDraft = { id: A, name: 'many-addresses', nics: [nicA], aliases: [alias0] };
const everyAddress = [ids.address(0, 11), '2001:db8:172::11', 'fd00:172::11', ids.address(0, 111), 'fd00:174::11'];

async function ok(action: string, argv: string[], stdin: string): Promise<string> {
  const result = await runAction(action, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
  return result.stdout;
}

const pidOf = async (id: number) => (await (await realEngine()).inspectContainer(`one-${id}`)).State.Pid;
/** What oned runs after an alias attach or detach: prereconfigure, then reconfigure, with the VM's document. */
async function reconfigure(vm: VmDraft): Promise<void> {
  await ok('prereconfigure', [`one-${A}`, 'hdb', String(A), 'localhost'], actionXml(vm));
  await ok('reconfigure', [`one-${A}`, 'hdb', `/var/lib/one/datastores/100/${A}/disk.1`, String(A), 'localhost'], actionXml(vm));
}
function vmPings(pid: number, address: string): boolean {
  try {
    execFileSync(...pingArgv(['nsenter', `--target=${pid}`, '--net'], address), { stdio: 'ignore', timeout: 6000 });
    return true;
  } catch {
    return false;
  }
}

const cleanup = async () => {
  await removeContainersOf(await realEngine(), [A, ids.vm(1)]);
  for (const link of linksStartingWith(`one-${A}-`, `one-${ids.vm(1)}-`)) deleteLink(link);
  peer.remove();
  deleteBridge(lan);
};

test.before(async () => {
  await cleanup();
  createBridge(lan, ids.cidr(0, 1));
  peer.create(lan, [`${ids.address(0, 2)}/24`, '2001:db8:172::2/64', 'fd00:172::2/64', 'fd00:174::2/64', 'fd00:175::2/64']);
  peer.ip('addr', 'add', `${routed}/32`, 'dev', 'lo');
  await ok('deploy', deployArgv(A), vmXml(vmA));
});
test.after.always(cleanup);

test.serial('every address of the NIC and of its alias is on eth0 and answers a netns on the bridge', async (t) => {
  const pid = await pidOf(A);
  const addresses = ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global');
  for (const prefixed of [`${ids.address(0, 11)}/24`, '2001:db8:172::11/64', 'fd00:172::11/64', `${ids.address(0, 111)}/24`, 'fd00:174::11/64']) {
    t.true(addresses.includes(` ${prefixed} `), `${prefixed} on eth0`);
  }
  for (const address of everyAddress) t.true(peer.pings(address), `the peer reaches ${address}`);
});

test.serial('the default routes and the network routes are in place, and a routed address answers', async (t) => {
  const pid = await pidOf(A);
  t.regex(ipInside(pid, 'route', 'show'), new RegExp(`default via ${ids.address(0, 1)} dev eth0 metric 100`));
  t.regex(ipInside(pid, 'route', 'show'), new RegExp(`${ids.address(0, 192)}/26 via ${ids.address(0, 2)} dev eth0`));
  t.regex(ipInside(pid, '-6', 'route', 'show'), /default via 2001:db8:172::1 dev eth0 metric 100/);
  t.true(vmPings(pid, routed), 'the VM reaches an address only the route leads to');
});

test.serial('MTU is set on both ends of the veth', async (t) => {
  t.regex(execFileSync('ip', ['-o', 'link', 'show', 'dev', `one-${A}-0`], { encoding: 'utf8' }), /mtu 1400 /);
  t.regex(ipInside(await pidOf(A), '-o', 'link', 'show', 'dev', 'eth0'), /mtu 1400 /);
});

test.serial('an alias attached as oned does it (reconfigure) is added, and goes when it is detached', async (t) => {
  const alias1: AliasDraft = { nicId: 2, aliasId: 1, parentId: 0, ip: ids.address(0, 112), ip6: 'fd00:175::11', attach: true };
  await reconfigure({ ...vmA, aliases: [alias0, alias1] });
  const pid = await pidOf(A);
  t.true(peer.pings(ids.address(0, 112)));
  t.true(peer.pings('fd00:175::11'));
  // Detaching: the alias is still in the document with ATTACH=YES, and its context variables are gone.
  await reconfigure({ ...vmA, aliases: [alias0, { ...alias1, inContext: false }] });
  const addresses = ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth0');
  t.false(addresses.includes(ids.address(0, 112)));
  t.false(addresses.includes('fd00:175::11'));
  for (const address of everyAddress) t.true(addresses.includes(address), `${address} stays`);
  t.is(await pidOf(A), pid, 'the VM kept running');
});

test.serial('a NIC with several addresses is hot-plugged with all of them, and hot-unplugged', async (t) => {
  const nic1 = { nicId: 1, bridge: lan, ip: ids.address(0, 21), mask: '255.255.255.0', ip6: '2001:db8:172::21', ip6Ula: 'fd00:172::21', attach: true };
  const alias: AliasDraft = { nicId: 3, aliasId: 0, parentId: 1, ip: ids.address(0, 121) };
  const withNic: VmDraft = { ...vmA, nics: [nicA, nic1], aliases: [alias0, alias] };
  await ok('attach_nic', [`one-${A}`, macFor(A, 1), lan, '-', 'bridge', `one-${A}-1`, String(A), 'localhost'], actionXml(withNic));
  const eth1 = ipInside(await pidOf(A), '-o', 'addr', 'show', 'dev', 'eth1');
  for (const address of [ids.address(0, 21), '2001:db8:172::21', 'fd00:172::21', ids.address(0, 121)]) t.true(eth1.includes(address), address);
  t.true(peer.pings('fd00:172::21'));
  await ok('detach_nic', [`one-${A}`, macFor(A, 1), String(A), 'localhost'], actionXml(withNic));
  t.false(linkExists(`one-${A}-1`));
  t.true(peer.pings(ids.address(0, 11)), 'the first NIC still works');
});

test.serial('malformed addresses, prefixes and routes are refused with one line and change nothing', async (t) => {
  const B = ids.vm(1);
  const nicB = { nicId: 0, bridge: lan, ip: ids.address(0, 31) };
  const hostile: [Partial<VmDraft>, RegExp][] = [
    [{ nics: [{ ...nicB, ip6: 'fd00::1 dev lo' }] }, /IP6 "fd00::1 dev lo" is not an IPv6 address/],
    [{ nics: [{ ...nicB, ip6: 'fd00::31', ip6PrefixLength: '129' }] }, /IP6_PREFIX_LENGTH "129" is not a whole number from 0 to 128/],
    [{ nics: [{ ...nicB, ip6Ula: 'fd00::/64' }] }, /IP6_ULA "fd00::\/64" is not an IPv6 address/],
    [{ nics: [{ ...nicB, routes: '0.0.0.0/0 via 198.18.172.1; reboot' }] }, /ROUTES entry .* is not "<network> via <gateway>"/],
    [{ nics: [{ ...nicB, routes: '198.18.172.5/24 via 198.18.172.1' }] }, /has host bits set/],
    [{ nics: [nicB], aliases: [{ nicId: 1, aliasId: 0, parentId: 0, ip: '198.18.172.256' }] }, /NIC_ALIAS 1: IP "198.18.172.256" is not an IPv4 address/],
    [{ nics: [nicB], aliases: [{ nicId: 1, aliasId: 0, parentId: 7, ip: ids.address(0, 32) }] }, /NIC_ALIAS 1: its parent NIC 7 is not a NIC of the VM/],
  ];
  for (const [extra, message] of hostile) {
    const vm: VmDraft = { id: B, ...extra };
    assertOneLineRefusal(t, await runAction('deploy', deployArgv(B), vmXml(vm)), message);
    t.is(await (await realEngine()).findContainer(`one-${B}`), undefined);
    t.false(linkExists(`one-${B}-0`));
    // The running VM's context carrying the same is refused too, and its addresses stay.
    const onA: VmDraft = { ...vmA, nics: [{ ...nicA, ...extra.nics?.[0], ip: nicA.ip, bridge: lan }], aliases: extra.aliases ?? vmA.aliases };
    assertOneLineRefusal(t, await runAction('reconfigure', [`one-${A}`, 'hdb', '/x/disk.1', String(A), 'localhost'], actionXml(onA)), message);
  }
  const addresses = ipInside(await pidOf(A), '-o', 'addr', 'show', 'dev', 'eth0');
  for (const address of everyAddress) t.true(addresses.includes(address), `${address} stays`);
});

test.serial('terminate removes the VM and its NIC', async (t) => {
  await ok('shutdown', idArgv(A), actionXml({ ...vmA, lcmState: 12 }));
  t.false(linkExists(`one-${A}-0`));
});
