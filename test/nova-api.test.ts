import test from 'ava';
import { auth, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { testIds } from './helpers/test-ids.ts';

const uuids = uuidMaker(testIds(import.meta.filename).uuidPrefix);
let compute: TestCompute;

test.before(async () => {
  await realEngine();
  compute = await testCompute();
});
test.after.always(async () => compute?.close());

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = auth) =>
  compute.app.inject({ method, url, payload: payload as object | undefined, headers });

test('without a token, or with a wrong one, every route answers 401 and says what is missing', async (t) => {
  const none = await call('GET', '/v1/instances', undefined, {});
  t.is(none.statusCode, 401);
  t.deepEqual(none.json(), { error: 'unauthorized', message: 'a bearer token is required (Authorization: Bearer <token>)' });
  t.is(none.headers['www-authenticate'], 'Bearer');
  const wrong = await call('POST', '/v1/instances', spawnBody(uuids.next()), { authorization: 'Bearer not-the-token-at-all' });
  t.is(wrong.statusCode, 401);
  t.is(wrong.json().message, 'the bearer token is not valid');
  const basic = await call('GET', '/v1/host/resources', undefined, { authorization: 'Basic dXNlcjpwYXNz' });
  t.is(basic.statusCode, 401);
});

test('the OpenAPI document is served without a token and names every route', async (t) => {
  const answer = await call('GET', '/openapi.json', undefined, {});
  t.is(answer.statusCode, 200);
  const paths = Object.keys(answer.json().paths);
  for (const path of [
    '/v1/instances',
    '/v1/instances/{uuid}',
    '/v1/instances/{uuid}/reboot',
    '/v1/instances/{uuid}/snapshot',
    '/v1/host/resources',
    '/v1/host/inventory',
  ]) {
    t.true(paths.includes(path), path);
  }
  t.deepEqual(answer.json().components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
});

test('schema errors are 400 with the field and the rule broken', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ ...spawnBody(uuids.next()), flavor: { vcpus: 0, memory_mb: 64, root_gb: 1 } }, /body\/flavor\/vcpus must be >= 1/],
    [{ ...spawnBody(uuids.next()), flavor: { vcpus: '1', memory_mb: 64, root_gb: 1 } }, /body\/flavor\/vcpus must be integer/],
    [{ ...spawnBody('not-a-uuid') }, /body\/uuid must match pattern/],
    [{ ...spawnBody(uuids.next()), privileged: true }, /must NOT have additional properties/],
    [{ uuid: uuids.next() }, /must have required property/],
    [
      { ...spawnBody(uuids.next()), network_info: [{ id: 'p1', address: '02:00:00:00:00:01', bridge: 'br0', ips: [], dns: [], vlan: 7 }] },
      /additional properties/,
    ],
  ];
  for (const [body, message] of cases) {
    const answer = await call('POST', '/v1/instances', body);
    t.is(answer.statusCode, 400, JSON.stringify(body));
    t.is(answer.json().error, 'invalid_input');
    t.regex(answer.json().message, message);
  }
  const reboot = await call('POST', `/v1/instances/${uuids.next()}/reboot`, { type: 'GENTLE' });
  t.is(reboot.statusCode, 400);
  const badParam = await call('GET', '/v1/instances/NOT-A-UUID');
  t.is(badParam.statusCode, 400);
  t.regex(badParam.json().message, /params\/uuid must match pattern/);
});

test('an unknown instance is 404 for every verb; destroy of one already gone succeeds', async (t) => {
  const uuid = uuids.next();
  const verbs: ['GET' | 'POST', string, unknown][] = [
    ['GET', `/v1/instances/${uuid}`, undefined],
    ['POST', `/v1/instances/${uuid}/reboot`, { type: 'SOFT' }],
    ['POST', `/v1/instances/${uuid}/power-off`, {}],
    ['POST', `/v1/instances/${uuid}/power-on`, {}],
    ['POST', `/v1/instances/${uuid}/pause`, undefined],
    ['POST', `/v1/instances/${uuid}/suspend`, undefined],
    ['POST', `/v1/instances/${uuid}/resume`, {}],
    ['GET', `/v1/instances/${uuid}/console`, undefined],
  ];
  for (const [method, url, body] of verbs) {
    const answer = await call(method, url, body);
    t.is(answer.statusCode, 404, url);
    t.deepEqual(answer.json(), { error: 'not_found', message: `instance ${uuid} not found on this host` });
  }
  t.is((await call('DELETE', `/v1/instances/${uuid}`)).statusCode, 204);
  const route = await call('GET', '/v1/nothing-here');
  t.is(route.statusCode, 404);
  t.regex(route.json().message, /no such route: GET \/v1\/nothing-here/);
});

test('snapshot without a registry is 501, said plainly', async (t) => {
  const answer = await call('POST', `/v1/instances/${uuids.next()}/snapshot`, { image_id: 'x1' });
  t.is(answer.statusCode, 501);
  t.deepEqual(answer.json(), { error: 'not_supported', message: 'snapshot: no registry is configured (start the service with --registry host:port)' });
});

test('the host reports resources, inventory and uptime as Nova reads them', async (t) => {
  const resources = (await call('GET', '/v1/host/resources')).json();
  t.is(resources.hypervisor_type, 'docker');
  t.true(resources.vcpus >= 1 && resources.memory_mb > 0 && resources.local_gb > 0);
  t.true(Number.isInteger(resources.hypervisor_version) && resources.hypervisor_version > 1_000_000);
  t.deepEqual(resources.supported_instances[0].slice(1), ['docker', 'exe']);
  const inventory = (await call('GET', '/v1/host/inventory')).json();
  t.is(inventory.VCPU.total, resources.vcpus);
  t.is(inventory.MEMORY_MB.total, resources.memory_mb);
  t.is(inventory.DISK_GB.total, resources.local_gb);
  t.regex((await call('GET', '/v1/host/uptime')).json().uptime, / up .*load average/);
});
