import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { auth, instanceNames, removeInstances, spawnBody, testCompute, uuidMaker, type TestCompute } from './helpers/compute.ts';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { monitorMessages } from './helpers/monitord-client.ts';
import { createBridge, deleteBridge, deleteLink, hostPings, linksStartingWith, runInside } from './helpers/net.ts';
import { recorded, stateDir } from './helpers/paths.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';
import { deployArgv, idArgv, vmXml, actionXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const uuids = uuidMaker(ids.uuidPrefix);
const bridge = ids.bridge();
const ONE_VM = ids.vm(0);
const oneVm: VmDraft = { id: ONE_VM, nics: [{ nicId: 0, bridge, ip: ids.address(0, 250), mask: '255.255.255.0' }] };
const PARALLEL = 20;
let compute: TestCompute;

async function cleanup(): Promise<void> {
  const engine = await realEngine();
  await removeInstances(engine, uuids.prefix);
  await removeContainersOf(engine, [ONE_VM]);
  for (const link of linksStartingWith('tapdcf6', `one-${ONE_VM}-`)) deleteLink(link);
  deleteBridge(bridge);
}

test.before(async () => {
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
  compute = await testCompute();
});
test.after.always(async () => {
  await compute?.close();
  await cleanup();
});

const vifFor = (index: number) => ({
  id: `dcf6${String(index).padStart(4, '0')}-0000-4000-8000-000000000000`,
  address: `02:00:c6:12:71:${index.toString(16).padStart(2, '0')}`,
  bridge,
  ips: [{ address: ids.address(0, 10 + index), prefix: 24 }],
  dns: [],
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  return compute.app.inject({ method, url, headers: auth, payload: payload as object | undefined });
}

test.serial(`${PARALLEL} parallel spawns all end RUNNING with their own IP, and are all destroyed in parallel`, async (t) => {
  const batch = Array.from({ length: PARALLEL }, (_, i) => ({ uuid: uuids.next(), vif: vifFor(i) }));
  const answers = await Promise.all(batch.map(({ uuid, vif }) => call('POST', '/v1/instances', spawnBody(uuid, { network_info: [vif] }))));
  for (const answer of answers) t.is(answer.statusCode, 201, answer.body);
  t.true(answers.every((answer) => answer.json().state === 'RUNNING'));
  const listed = (await call('GET', '/v1/instances')).json().uuids as string[];
  for (const { uuid } of batch) t.true(listed.includes(uuid), uuid);
  for (const index of [0, 7, PARALLEL - 1]) t.true(hostPings(`198.18.113.${10 + index}`), `instance ${index} answers`);

  const destroyed = await Promise.all(batch.map(({ uuid }) => call('DELETE', `/v1/instances/${uuid}`)));
  t.true(destroyed.every((answer) => answer.statusCode === 204));
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
  t.deepEqual(linksStartingWith('tapdcf6'), []);
});

test.serial('OpenNebula and Nova VMs share a host and a network without seeing each other', async (t) => {
  const deployed = await runAction('deploy', deployArgv(ONE_VM), vmXml(oneVm));
  t.is(deployed.code, 0, deployed.stderr);
  const uuid = uuids.next();
  t.is((await call('POST', '/v1/instances', spawnBody(uuid, { network_info: [vifFor(50)] }))).statusCode, 201);

  // The networks are shared: the Nova instance reaches the OpenNebula VM on the bridge.
  const pid = (await (await realEngine()).inspectContainer(`nova-${uuid}`)).State.Pid;
  t.notThrows(() => runInside(pid, 'ping', '-c', '1', '-W', '2', '198.18.113.250'));
  t.true(hostPings('198.18.113.60'));

  // Nova lists only its own.
  const listed = (await call('GET', '/v1/instances')).json().uuids as string[];
  t.true(listed.includes(uuid));
  t.false(listed.some((id) => id === String(ONE_VM)));
  const resources = (await call('GET', '/v1/host/resources')).json();
  t.true(resources.vcpus_used >= 1);

  // OpenNebula's monitoring reports only its own.
  const dir = join(stateDir, 'probe-state-nova-sbs');
  rmSync(dir, { recursive: true, force: true });
  const env = { ...process.env, DOCKVISOR_CONFIG: testConfigPath({ stateDir: dir }, 'probes-nova-sbs.json') };
  const { document, decoded } = await monitorMessages(readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8'), env);
  t.regex(decoded.STATE_VM!, new RegExp(`DEPLOY_ID="one-${ONE_VM}"`));
  t.false(document.includes(uuid), "Nova's instance is not in OpenNebula's monitoring");
  t.false(
    Object.values(decoded).some((message) => message.includes('nova-')),
    'no nova- container in any message',
  );

  // Each front-end's verbs leave the other's containers alone.
  t.is((await call('DELETE', `/v1/instances/${uuid}`)).statusCode, 204);
  t.truthy(await (await realEngine()).findContainer(`one-${ONE_VM}`));
  const terminated = await runAction('cancel', idArgv(ONE_VM), actionXml({ ...oneVm, lcmState: 12 }));
  t.is(terminated.code, 0, terminated.stderr);
  t.deepEqual(await instanceNames(await realEngine(), uuids.prefix), []);
});
