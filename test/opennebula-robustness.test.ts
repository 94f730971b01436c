import test from 'ava';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, hostPings, ipInside, linkExists, linksStartingWith } from './helpers/net.ts';
import { temporaryPeerName } from '../drivers/core/nic-plumbing.ts';
import { collect, runAction, startAction } from './helpers/vmm.ts';
import { actionXml, vmXml, deployArgv, idArgv, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const KILLED = ids.vm(0);
const TWICE = ids.vm(1);
const MISSING = ids.vm(2);
const CONCURRENT = Array.from({ length: 20 }, (_, i) => ids.vm(9 + i));
const ALL = [KILLED, TWICE, MISSING, ...CONCURRENT];

const vm = (id: number): VmDraft => ({ id, nics: [{ nicId: 0, bridge, ip: ids.address(0, id - KILLED + 11), mask: '255.255.255.0' }] });
const vmDocument = (id: number) => vmXml(vm(id));
const terminate = (id: number) => runAction('shutdown', idArgv(id), actionXml({ ...vm(id), lcmState: 12 }));

const cleanup = async () => {
  await removeContainersOf(await realEngine(), ALL);
  for (const link of linksStartingWith(...ALL.map((id) => `one-${id}-`))) deleteLink(link);
  deleteBridge(bridge);
};

test.before(async () => {
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
});
test.after.always(cleanup);

test.serial('deploying twice gives one container, and the same deploy id', async (t) => {
  const engine = await realEngine();
  const first = await runAction('deploy', deployArgv(TWICE), vmDocument(TWICE));
  const second = await runAction('deploy', deployArgv(TWICE), vmDocument(TWICE));
  t.is(first.stdout, `one-${TWICE}\n`, first.stderr);
  t.is(second.stdout, `one-${TWICE}\n`, second.stderr);
  t.deepEqual(await containersOf(engine, [TWICE]), [`one-${TWICE}`]);
  const pid = (await engine.inspectContainer(`one-${TWICE}`)).State.Pid;
  t.is(ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth0').match(/inet /g)?.length, 1, 'the address is set once');
  t.is((await terminate(TWICE)).code, 0);
});

test.serial('shutdown, cancel and cleanup of a VM that does not exist succeed', async (t) => {
  for (const action of ['shutdown', 'cancel', 'cleanup']) {
    const result = await runAction(action, idArgv(MISSING), actionXml({ ...vm(MISSING), lcmState: 12 }));
    t.is(result.code, 0, `${action}: ${result.stderr}`);
  }
  const poweroff = await runAction('shutdown', idArgv(MISSING), actionXml({ ...vm(MISSING), lcmState: 18 }));
  t.is(poweroff.code, 0, poweroff.stderr);
});

test.serial('a deploy killed at random points, then retried, converges with nothing orphaned', async (t) => {
  const engine = await realEngine();
  // Spread over the whole deploy (process start, engine calls, plumbing), with some jitter.
  const delays = [5, 40, 80, 120, 160, 200, 250, 300, 400, 500].map((ms) => ms + Math.floor(Math.random() * 30));
  for (const [round, delay] of delays.entries()) {
    // Every other round starts from a powered-off VM, so that kills also land in create, start or plumbing.
    if (round % 2 === 1) await runAction('cancel', idArgv(KILLED), actionXml({ ...vm(KILLED), lcmState: 18 }));
    const child = startAction('deploy', deployArgv(KILLED), vmDocument(KILLED));
    const settled = collect(child);
    await new Promise((resolve) => setTimeout(resolve, delay));
    child.kill('SIGKILL');
    await settled;
    const retry = await runAction('deploy', deployArgv(KILLED), vmDocument(KILLED));
    t.is(retry.code, 0, `retry after a kill at ${delay} ms: ${retry.stderr}`);
    t.deepEqual(await containersOf(engine, [KILLED]), [`one-${KILLED}`]);
    const pid = (await engine.inspectContainer(`one-${KILLED}`)).State.Pid;
    const addresses = ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth0');
    t.regex(addresses, /inet 198\.18\.20\.11\/24/);
    t.is(addresses.match(/inet /g)?.length, 1);
    t.deepEqual(linksStartingWith(`one-${KILLED}-`), [`one-${KILLED}-0`], 'one host end, no stale one');
    t.false(linkExists(temporaryPeerName(`one-${KILLED}-0`)), 'no temporary peer left on the host');
  }
  t.true(hostPings('198.18.20.11'));
  t.is((await terminate(KILLED)).code, 0);
  t.deepEqual(await containersOf(engine, [KILLED]), []);
  t.false(linkExists(`one-${KILLED}-0`));
});

test.serial('20 concurrent deploys all succeed, each with its own working NIC', async (t) => {
  const engine = await realEngine();
  const results = await Promise.all(CONCURRENT.map((id) => runAction('deploy', deployArgv(id), vmDocument(id))));
  results.forEach((result, i) => t.is(result.stdout, `one-${CONCURRENT[i]}\n`, result.stderr));
  t.is((await containersOf(engine, CONCURRENT)).length, 20);
  for (const id of [CONCURRENT[0]!, CONCURRENT[19]!]) t.true(hostPings(`198.18.20.${id - 9300 + 10}`));
  const removed = await Promise.all(CONCURRENT.map((id) => terminate(id)));
  removed.forEach((result) => t.is(result.code, 0, result.stderr));
  t.deepEqual(await containersOf(engine, CONCURRENT), []);
  t.deepEqual(linksStartingWith(...CONCURRENT.map((id) => `one-${id}-`)), []);
});
