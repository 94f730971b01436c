import test from 'ava';
import { auth, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { BridgeNetns } from './helpers/bridge-netns.ts';
import { createBridge, deleteBridge, deleteLink, ipInside, linkExists, linksStartingWith } from './helpers/net.ts';
import { testConfigPath } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const lan = ids.bridge('0');
const peer = new BridgeNetns('dvt-naddr-peer', ids.bridge('n'));
const portA = 'c3c3c3c3-0000-4000-8000-000000000001';
const portB = 'd4d4d4d4-0000-4000-8000-000000000002';
// A port with two fixed IPs of each family, on two subnets each, and a host route of its first subnet.
const vifA = {
  id: portA,
  address: '02:00:c6:12:ad:0b',
  bridge: lan,
  ips: [
    { address: ids.address(0, 11), prefix: 25 },
    { address: ids.address(0, 211), prefix: 25 },
    { address: '2001:db8:173::11', prefix: 64 },
    { address: 'fd00:173::11', prefix: 64 },
  ],
  gateway: ids.address(0, 1),
  gateway6: '2001:db8:173::1',
  routes: [{ destination: `${ids.address(0, 192)}/28`, gateway: ids.address(0, 2) }],
  dns: [],
};
const vifB = {
  id: portB,
  address: '02:00:c6:12:ad:0c',
  bridge: lan,
  ips: [
    { address: ids.address(0, 21), prefix: 25 },
    { address: ids.address(0, 221), prefix: 25 },
    { address: 'fd00:173::21', prefix: 64 },
  ],
  dns: [],
};
let compute: TestCompute;

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  return compute.app.inject({ method, url, headers: auth, payload: payload as object | undefined });
}
async function ok(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const answer = await call(method, url, payload);
  if (answer.statusCode >= 300) throw new Error(`${method} ${url}: ${answer.statusCode} ${answer.body}`);
  return answer.statusCode === 204 ? undefined : answer.json();
}
const pidOf = async (uuid: string) => (await (await realEngine()).inspectContainer(`nova-${uuid}`)).State.Pid;

async function cleanup(): Promise<void> {
  await removeInstances(await realEngine(), uuids.prefix);
  for (const link of linksStartingWith('tapc3c3c3c3', 'tapd4d4d4d4')) deleteLink(link);
  peer.remove();
  deleteBridge(lan);
}

test.before(async () => {
  await cleanup();
  createBridge(lan, `${ids.address(0, 1)}/25`);
  peer.create(lan, [`${ids.address(0, 2)}/25`, `${ids.address(0, 130)}/25`, '2001:db8:173::2/64', 'fd00:173::2/64']);
  peer.ip('addr', 'add', `${ids.address(0, 200)}/32`, 'dev', 'lo');
  compute = await testCompute({ config: testConfigPath({}, 'nova-addresses.json') });
});
test.after.always(async () => {
  await compute?.close();
  await cleanup();
});

test.serial('a port with several fixed IPv4 and IPv6 addresses gets all of them, reachable from a netns on the bridge, with its routes', async (t) => {
  const uuid = uuids.next();
  await ok('POST', '/v1/instances', spawnBody(uuid, { network_info: [vifA] }));
  const pid = await pidOf(uuid);
  const eth0 = ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global');
  for (const ip of vifA.ips) t.true(eth0.includes(` ${ip.address}/${ip.prefix} `), `${ip.address} on eth0`);
  for (const ip of vifA.ips) t.true(peer.pings(ip.address), `the peer reaches ${ip.address}`);
  t.regex(ipInside(pid, 'route', 'show'), new RegExp(`${ids.address(0, 192)}/28 via ${ids.address(0, 2)} dev eth0`));
  t.regex(ipInside(pid, '-6', 'route', 'show'), /default via 2001:db8:173::1 dev eth0/);

  await ok('POST', `/v1/instances/${uuid}/interfaces`, { vif: vifB });
  const eth1 = ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth1');
  for (const ip of vifB.ips) t.true(eth1.includes(`${ip.address}/${ip.prefix}`), `${ip.address} on eth1`);
  t.true(peer.pings('fd00:173::21'));
  await ok('DELETE', `/v1/instances/${uuid}/interfaces/${portB}`);
  t.false(linkExists(`tap${portB.slice(0, 11)}`));
  t.true(peer.pings(ids.address(0, 211)), 'the first VIF keeps its addresses');
  await ok('DELETE', `/v1/instances/${uuid}`);
});

test.serial('malformed addresses, prefixes and routes are refused with one line and nothing is made', async (t) => {
  const hostile: [Record<string, unknown>, RegExp][] = [
    [{ ips: [{ address: '198.18.173.40 dev lo', prefix: 24 }] }, /is not an IPv4 address|is not an IPv6 address/],
    [{ ips: [{ address: 'fd00:173::40', prefix: 0 }] }, /prefix of fd00:173::40 is 0, not a usable prefix length/],
    [{ routes: [{ destination: '198.18.173.0/24; reboot', gateway: ids.address(0, 1) }] }, /route "198.18.173.0\/24; reboot" is not a network/],
    [{ routes: [{ destination: '198.18.173.5/24', gateway: ids.address(0, 1) }] }, /route 198.18.173.5\/24 has host bits set/],
    [{ routes: [{ destination: '198.18.173.0/24', gateway: 'fd00:173::1' }] }, /route gateway "fd00:173::1" is not an IPv4 address/],
  ];
  for (const [change, message] of hostile) {
    const uuid = uuids.next();
    const answer = await call('POST', '/v1/instances', spawnBody(uuid, { network_info: [{ ...vifA, ...change }] }));
    t.is(answer.statusCode, 400, answer.body);
    t.is(answer.json().error, 'invalid_input');
    t.regex(answer.json().message, message);
    t.false(String(answer.json().message).includes('\n'), 'one line');
    t.is(await (await realEngine()).findContainer(`nova-${uuid}`), undefined);
    t.false(linkExists(`tap${portA.slice(0, 11)}`));
  }
});
