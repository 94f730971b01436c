import test from 'ava';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { auth, instanceNames, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine } from './helpers/engine.ts';
import { testIds } from './helpers/test-ids.ts';

// A flavor the host can never give is refused at spawn, as OpenNebula's deploy refuses such a template.
const uuids = uuidMaker(testIds(import.meta.filename).uuidPrefix);
const hostCpus = os.cpus().length;
const hostMemoryMb = Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);
let compute: TestCompute;

test.before(async () => {
  await removeInstances(await realEngine(), uuids.prefix);
  compute = await testCompute();
});
test.after.always(async () => {
  await removeInstances(await realEngine(), uuids.prefix);
  await compute?.close();
});

const tooBig: [string, Record<string, number>, (uuid: string) => RegExp][] = [
  [
    'more vcpus than the host has',
    { vcpus: hostCpus + 1, memory_mb: 64, root_gb: 1 },
    (uuid) => new RegExp(`^VM ${uuid}: VCPU ${hostCpus + 1} is more than this host has \\(${hostCpus} CPUs\\)$`),
  ],
  [
    'more memory than the host has',
    { vcpus: 1, memory_mb: hostMemoryMb + 1, root_gb: 1 },
    (uuid) => new RegExp(`^VM ${uuid}: MEMORY ${hostMemoryMb + 1} MB is more than this host has \\(${hostMemoryMb} MB\\)$`),
  ],
];

for (const [what, flavor, message] of tooBig) {
  test.serial(`spawn of a flavor with ${what} is 400 with one line, and nothing is created`, async (t) => {
    const uuid = uuids.next();
    const answer = await compute.app.inject({ method: 'POST', url: '/v1/instances', payload: spawnBody(uuid, { flavor }), headers: auth });
    t.is(answer.statusCode, 400);
    t.is(answer.json().error, 'invalid_input');
    t.regex(answer.json().message, message(uuid));
    t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), [], 'no container was created');
  });
}

test.serial('a flavor of all the host has is spawned', async (t) => {
  const uuid = uuids.next();
  const answer = await compute.app.inject({
    method: 'POST',
    url: '/v1/instances',
    payload: spawnBody(uuid, { flavor: { vcpus: hostCpus, memory_mb: 64, root_gb: 1 } }),
    headers: auth,
  });
  t.is(answer.statusCode, 201, answer.body);
  await compute.app.inject({ method: 'DELETE', url: `/v1/instances/${uuid}`, headers: auth });
});
