import test from 'ava';
import nock from 'nock';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oneEndpoint } from '../drivers/opennebula/rpc/one-credentials.ts';
import { OneNameTakenError, OneRpcError } from '../drivers/opennebula/rpc/one-errors.ts';
import { OneRpc } from '../drivers/opennebula/rpc/one-rpc.ts';
import { hostPool, registerHost, setHostEnabled, unregisterHost } from '../drivers/opennebula/rpc/hosts.ts';
import { ONED, SESSION, replay } from './helpers/oned-mock.ts';

// oned cannot run here: its recorded answers (OpenNebula 7.4) are replayed, and the failures injected.
const rpc = (timeoutMs = 2000) => new OneRpc({ url: `${ONED}/RPC2`, session: SESSION }, timeoutMs);

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());
test.after.always(() => nock.enableNetConnect());

test.serial("the version call returns oned's version", async (t) => {
  const scope = replay('system-version');
  const client = rpc();
  t.is(await client.call('one.system.version'), '7.4.0');
  client.close();
  t.true(scope.isDone());
});

test.serial('registering a host allocates it with dockvisor drivers and reads it back', async (t) => {
  replay('host-allocate');
  replay('host-info');
  const client = rpc();
  const { host, created } = await registerHost(client, 'fixture-host');
  client.close();
  t.true(created);
  t.like(host, {
    id: 2,
    name: 'fixture-host',
    state: 'ERROR',
    imMad: 'dockvisor',
    vmMad: 'dockvisor',
    clusterId: 0,
    disk: { totalMb: 0, freeMb: 0, usedMb: 0 },
  });
});

test.serial('registering a host that exists already finds it: never a duplicate', async (t) => {
  replay('host-allocate-duplicate');
  replay('host-info');
  const client = rpc();
  const { host, created } = await registerHost(client, 'fixture-host');
  client.close();
  t.false(created);
  t.is(host.id, 2);
});

test.serial('a taken name is a typed error carrying the existing id', async (t) => {
  replay('host-allocate-duplicate');
  const client = rpc();
  const error = await t.throwsAsync(client.call('one.host.allocate', 'fixture-host', 'dockvisor', 'dockvisor', -1), { instanceOf: OneNameTakenError });
  client.close();
  t.is(error!.existingId, 2);
  t.is(error!.kind, 'allocate');
});

test.serial("oned's errors keep their words and kind: authentication, not found, unknown method", async (t) => {
  replay('auth-failure');
  const wrong = new OneRpc({ url: `${ONED}/RPC2`, session: 'oneadmin:wrongpassword' }, 2000);
  const auth = await t.throwsAsync(wrong.call('one.system.version'), { instanceOf: OneRpcError });
  wrong.close();
  t.is(auth!.kind, 'authentication');
  t.regex(auth!.message, /User couldn't be authenticated/);

  replay('host-info-missing');
  const client = rpc();
  const missing = await t.throwsAsync(client.call('one.host.info', 9999), { instanceOf: OneRpcError });
  t.is(missing!.kind, 'not-found');
  t.is(missing!.code, 1024);

  replay('unknown-method');
  const fault = await t.throwsAsync(client.call('one.nosuch.method'), { instanceOf: OneRpcError });
  t.regex(fault!.message, /one\.nosuch\.method.*not defined/);
  client.close();
});

test.serial('the host pool is read with the safe parser', async (t) => {
  replay('hostpool-info');
  const client = rpc();
  const hosts = await hostPool(client);
  client.close();
  t.true(hosts.length >= 1);
  t.like(
    hosts.find((h) => h.id === 1),
    { id: 1, name: 'localhost', state: 'MONITORED', imMad: 'dockvisor', vmMad: 'dockvisor', clusterId: 0 },
  );
});

test.serial('disabling and unregistering a host', async (t) => {
  replay('host-disable');
  replay('host-delete');
  const client = rpc();
  await setHostEnabled(client, 2, false);
  await unregisterHost(client, 2);
  client.close();
  t.pass();
});

test.serial('a call oned never answers fails within its timeout', async (t) => {
  // A real server on loopback that never answers: the client's own timeout must end the call.
  const silent = http.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    silent.closeAllConnections();
    silent.close();
  });
  nock.enableNetConnect('127.0.0.1');
  const { port } = silent.address() as AddressInfo;
  const client = new OneRpc({ url: `http://127.0.0.1:${port}/RPC2`, session: SESSION }, 300);
  const started = Date.now();
  const error = await t.throwsAsync(client.call('one.system.version'), { instanceOf: OneRpcError });
  client.close();
  t.regex(error!.message, /did not answer within 300 ms/);
  t.true(Date.now() - started < 2000);
});

test.serial('an HTTP error and a malformed answer are clear errors', async (t) => {
  nock(ONED).post('/RPC2').reply(500, 'Internal Server Error');
  const client = rpc();
  const http500 = await t.throwsAsync(client.call('one.system.version'), { instanceOf: OneRpcError });
  t.regex(http500!.message, /answered HTTP 500/);
  nock(ONED).post('/RPC2').reply(200, '<methodResponse><params><param><value><array><data>', { 'Content-Type': 'text/xml' });
  const broken = await t.throwsAsync(client.call('one.system.version'), { instanceOf: OneRpcError });
  t.regex(broken!.message, /one\.system\.version/);
  nock(ONED)
    .post('/RPC2')
    .reply(200, '<?xml version="1.0"?><methodResponse><params><param><value><string>x</string></value></param></params></methodResponse>');
  const shape = await t.throwsAsync(client.call('one.system.version'), { instanceOf: OneRpcError });
  t.regex(shape!.message, /not \[success, body, code\]/);
  client.close();
});

test.serial('a 20 MB pool is read', async (t) => {
  const host = (id: number) =>
    `<HOST><ID>${id}</ID><NAME>host-${id}</NAME><STATE>2</STATE><IM_MAD><![CDATA[dockvisor]]></IM_MAD><VM_MAD><![CDATA[dockvisor]]></VM_MAD><CLUSTER_ID>0</CLUSTER_ID><TEMPLATE><NOTE><![CDATA[${'x'.repeat(4200)}]]></NOTE></TEMPLATE></HOST>`;
  const pool = `<HOST_POOL>${Array.from({ length: 5000 }, (_, i) => host(i)).join('')}</HOST_POOL>`;
  const escaped = pool.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  t.true(escaped.length > 20 * 1024 * 1024);
  nock(ONED)
    .post('/RPC2')
    .reply(
      200,
      `<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><boolean>1</boolean></value><value><string>${escaped}</string></value><value><i4>0</i4></value></data></array></value></param></params></methodResponse>`,
    );
  const client = rpc(30_000);
  const hosts = await hostPool(client);
  client.close();
  t.is(hosts.length, 5000);
  t.is(hosts[4999]!.name, 'host-4999');
});

test('the endpoint and credentials come from ONE_XMLRPC and ONE_AUTH, and the secret is never echoed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dockvisor-one-auth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'one_auth'), 'oneadmin:s3cret\n');
  t.deepEqual(oneEndpoint({}, { ONE_XMLRPC: 'http://front:2633/RPC2', ONE_AUTH: join(dir, 'one_auth') }), {
    url: 'http://front:2633/RPC2',
    session: 'oneadmin:s3cret',
  });
  writeFileSync(join(dir, 'bad'), 'no-colon-s3cret\n');
  const error = t.throws(() => oneEndpoint({}, { ONE_AUTH: join(dir, 'bad') }));
  t.false(error!.message.includes('s3cret'));
  t.throws(() => oneEndpoint({ url: 'ftp://x' }, {}), { message: /not an http\(s\) URL/ });
});
