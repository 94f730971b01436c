import test from 'ava';
import { auth, instanceNames, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, ip, linkIndex, linksStartingWith } from './helpers/net.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
let compute: TestCompute;

const vif = (extra: Record<string, unknown> = {}) => ({
  id: 'ab12cd34-0000-4000-8000-000000000001',
  address: '02:00:c6:12:6e:0b',
  bridge,
  ips: [{ address: ids.address(0, 11), prefix: 24 }],
  dns: [],
  ...extra,
});

test.before(async () => {
  await removeInstances(await realEngine(), uuids.prefix);
  createBridge(bridge, ids.cidr(0, 1));
  compute = await testCompute();
});
test.after.always(async () => {
  await compute?.close();
  await removeInstances(await realEngine(), uuids.prefix);
  deleteBridge(bridge);
});

const hostile: [string, Record<string, unknown>, RegExp][] = [
  ['shell in the hostname', { hostname: 'a;reboot' }, /hostname "a;reboot" is not a valid hostname/],
  ['a path in the hostname', { hostname: '../../etc' }, /is not a valid hostname/],
  ['shell in the image', { image: 'busybox;rm -rf /' }, /image "busybox;rm -rf \/" is not a valid image reference/],
  ['an option as the image', { image: '--privileged' }, /is not a valid image reference/],
  ['a URL as the image', { image: 'http://evil.example/x' }, /is not a valid image reference/],
  ['a newline in the image', { image: 'busybox\nlatest' }, /is not a valid image reference/],
  ['shell in a metadata key', { metadata: { 'A;reboot': 'x' } }, /metadata key "A;reboot" is not a valid environment variable name/],
  ['an assignment in a metadata key', { metadata: { 'LD_PRELOAD=/x': 'y' } }, /is not a valid environment variable name/],
  ['a NUL byte in a metadata value', { metadata: { GOOD: 'a\u0000b' } }, /metadata GOOD contains a NUL byte/],
  ['a NUL byte in the name', { name: 'x\u0000y' }, /name contains a NUL byte/],
  ['a relative injected file', { injected_files: [{ path: 'etc/x', contents: '' }] }, /"etc\/x" is not an absolute, normalised path/],
  ['a climbing injected file', { injected_files: [{ path: '/tmp/../etc/shadow', contents: '' }] }, /is not an absolute, normalised path/],
  ['an injected file in /proc', { injected_files: [{ path: '/proc/sysrq-trigger', contents: 'Yg==' }] }, /is managed by the host/],
  ['injected contents that are not base64', { injected_files: [{ path: '/tmp/x', contents: '$(reboot)' }] }, /contents are not base64/],
  ['shell in a bridge name', { network_info: [vif({ bridge: 'br0;reboot' })] }, /bridge "br0;reboot" is not a valid interface name/],
  ['an option as a devname', { network_info: [vif({ devname: '-rf' })] }, /devname "-rf" is not a valid interface name/],
  ['a multicast MAC', { network_info: [vif({ address: '01:00:5e:00:00:01' })] }, /is a multicast MAC address/],
  ['a MAC with shell', { network_info: [vif({ address: '02:00;reboot' })] }, /is not a MAC address/],
  ['an IP with shell', { network_info: [vif({ ips: [{ address: '1.2.3.4;id', prefix: 24 }] })] }, /is not an IPv6 address|is not an IPv4 address/],
  ['a DNS server that is a name', { network_info: [vif({ dns: ['evil.example'] })] }, /DNS server "evil.example" is not an IP address/],
  ['two VIFs with one MAC', { network_info: [vif(), vif({ id: 'other-port', ips: [] })] }, /two VIFs have the same MAC address/],
  ['a bridge that does not exist', { network_info: [vif({ bridge: 'dvt-nova-none' })] }, /bridge dvt-nova-none does not exist on this host/],
];

for (const [what, extra, message] of hostile) {
  test.serial(`${what}: 400 with a clear message, nothing created`, async (t) => {
    const uuid = uuids.next();
    const answer = await compute.app.inject({ method: 'POST', url: '/v1/instances', headers: auth, payload: spawnBody(uuid, extra) });
    t.is(answer.statusCode, 400, answer.body);
    t.is(answer.json().error, 'invalid_input');
    t.regex(answer.json().message, message);
    t.false(answer.json().message.includes('\n'));
    t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), [], 'no container was created');
    t.deepEqual(linksStartingWith('tapab12cd34'), [], 'no link was created');
  });
}

test.serial('an oversized body is 413 before anything is read into an instance', async (t) => {
  const uuid = uuids.next();
  const answer = await compute.app.inject({
    method: 'POST',
    url: '/v1/instances',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify(spawnBody(uuid, { name: 'x'.repeat(600 * 1024) })),
  });
  t.is(answer.statusCode, 413);
  t.is(answer.json().error, 'too_large');
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
});

test.serial('a body that is not JSON, or not an object, is 400', async (t) => {
  const broken = await compute.app.inject({
    method: 'POST',
    url: '/v1/instances',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: '{"uuid": ',
  });
  t.is(broken.statusCode, 400);
  t.is(broken.json().error, 'invalid_input');
  const list = await compute.app.inject({ method: 'POST', url: '/v1/instances', headers: auth, payload: [1, 2] });
  t.is(list.statusCode, 400);
});

test.serial('a container of the same name that is not a Nova instance is a conflict and is left alone', async (t) => {
  const engine = await realEngine();
  const uuid = uuids.next();
  // An OpenNebula-labelled container squatting the name: never touched, never listed.
  await engine.createContainer(`nova-${uuid}`, {
    Image: 'dockvisor/busybox:latest',
    Cmd: ['sleep', '1000'],
    Labels: { 'io.dockvisor.owner': 'dockvisor', 'io.dockvisor.front-end': 'opennebula', 'io.dockvisor.vm-id': uuid },
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    const spawn = await compute.app.inject({ method: 'POST', url: '/v1/instances', headers: auth, payload: spawnBody(uuid) });
    t.is(spawn.statusCode, 409);
    t.regex(spawn.json().message, /exists on this host but is not this VM's; it was left alone/);
    t.is((await compute.app.inject({ method: 'DELETE', url: `/v1/instances/${uuid}`, headers: auth })).statusCode, 409);
    t.truthy(await engine.findContainer(`nova-${uuid}`));
    const list = (await compute.app.inject({ method: 'GET', url: '/v1/instances', headers: auth })).json();
    t.false(list.uuids.includes(uuid));
  } finally {
    await engine.removeContainer(`nova-${uuid}`);
  }
});

/** Links a VIF's devname may name that are not the instance's: a host NIC, the VIF's bridge, another instance's tap. */
const hostNic = 'dvt-novanic0';
const otherTap = 'tape7e7e7e7ff0'; // no other test file cleans up links of this prefix
const foreign = [hostNic, bridge, otherTap];
const indexes = () => new Map(foreign.map((name) => [name, linkIndex(name)]));

test.serial("a devname naming a host NIC, the VIF's bridge or another instance's tap is refused, and the link is left alone", async (t) => {
  deleteLink(hostNic);
  deleteLink(otherTap);
  ip('link', 'add', hostNic, 'type', 'veth', 'peer', 'name', 'dvt-novanic0p');
  ip('link', 'add', otherTap, 'type', 'veth', 'peer', 'name', 'dvt-novatap0p');
  ip('link', 'set', otherTap, 'alias', 'dockvisor:nova:e7e7e7e7-0000-4000-8000-0000000000ff');
  const before = indexes();
  try {
    for (const devname of foreign) {
      const uuid = uuids.next();
      const answer = await compute.app.inject({
        method: 'POST',
        url: '/v1/instances',
        headers: auth,
        payload: spawnBody(uuid, { network_info: [vif({ devname })] }),
      });
      t.is(answer.statusCode, 400, answer.body);
      t.regex(answer.json().message, new RegExp(`a link named ${devname} already exists on this host and is not this VM's`));
      t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), [], 'no container was created');
    }
    const uuid = uuids.next();
    t.is(
      (await compute.app.inject({ method: 'POST', url: '/v1/instances', headers: auth, payload: spawnBody(uuid, { network_info: [vif()] }) })).statusCode,
      201,
    );
    const attach = await compute.app.inject({
      method: 'POST',
      url: `/v1/instances/${uuid}/interfaces`,
      headers: auth,
      payload: { vif: vif({ id: 'other-port', address: '02:00:c6:12:6e:0c', ips: [], devname: hostNic }) },
    });
    t.is(attach.statusCode, 409, attach.body);
    t.is((await compute.app.inject({ method: 'DELETE', url: `/v1/instances/${uuid}/interfaces/${otherTap.slice(3)}`, headers: auth })).statusCode, 204);
    t.is((await compute.app.inject({ method: 'DELETE', url: `/v1/instances/${uuid}`, headers: auth })).statusCode, 204);
    t.deepEqual(indexes(), before, 'every foreign link is still there, as it was');
  } finally {
    deleteLink(hostNic);
    deleteLink(otherTap);
  }
});
