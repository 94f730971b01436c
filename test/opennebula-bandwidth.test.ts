import test from 'ava';
import { execFileSync } from 'node:child_process';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { BridgeNetns } from './helpers/bridge-netns.ts';
import { createBridge, deleteBridge, deleteLink, linkExists, linksStartingWith } from './helpers/net.ts';
import { transfer } from './helpers/throughput.ts';
import { assertOneLineRefusal, runAction } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, macFor, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const A = ids.vm(0);
const lan = ids.bridge('0');
const peer = new BridgeNetns('dvt-bw-peer', ids.bridge('n'));
const peerAddress = ids.address(0, 2);
const addressA = ids.address(0, 11);
// KB/s as OpenNebula gives them: tc's kbps, 1000 bytes a second.
const limits = { INBOUND_AVG_BW: '400', OUTBOUND_AVG_BW: '250' };
const nicA = { nicId: 0, bridge: lan, ip: addressA, mask: '255.255.255.0', attributes: limits };
const vmA: VmDraft = { id: A, name: 'shaped', nics: [nicA] };
const SECONDS = 3;

async function ok(action: string, argv: string[], stdin: string): Promise<string> {
  const result = await runAction(action, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
  return result.stdout;
}

const pidOf = async (id: number) => (await (await realEngine()).inspectContainer(`one-${id}`)).State.Pid;
const inVm = async () => ['nsenter', `--target=${await pidOf(A)}`, '--net'];
const reconfigure = (vm: VmDraft) => ok('reconfigure', [`one-${A}`, 'hdb', `/var/lib/one/datastores/100/${A}/disk.1`, String(A), 'localhost'], actionXml(vm));
const qdiscs = (dev: string, prefix: string[] = []) =>
  execFileSync(prefix[0] ?? 'tc', [...prefix.slice(1), ...(prefix.length ? ['tc'] : []), 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' });

/**
 * Bytes a second into the VM (inbound) and out of it (outbound), each over a transfer with the peer of about
 * SECONDS at the expected rate: bounded in bytes by that rate, and in time by the sender's deadline.
 */
async function rates(port: number, inboundKBps: number, outboundKBps: number): Promise<{ inbound: number; outbound: number }> {
  const vm = await inVm();
  const inbound = await transfer(peer.prefix, vm, addressA, port, SECONDS * 1000, inboundKBps * 1000 * SECONDS);
  const outbound = await transfer(vm, peer.prefix, peerAddress, port + 1, SECONDS * 1000, outboundKBps * 1000 * SECONDS);
  return { inbound: inbound.rate, outbound: outbound.rate };
}

function within(t: import('ava').ExecutionContext, measured: number, limitKBps: number, what: string): void {
  const expected = limitKBps * 1000;
  t.log(`${what}: ${(measured / 1000).toFixed(1)} KB/s for a limit of ${limitKBps} KB/s`);
  t.true(Math.abs(measured - expected) <= expected * 0.2, `${what}: ${Math.round(measured)} B/s, limit ${expected} B/s`);
}

const cleanup = async () => {
  await removeContainersOf(await realEngine(), [A]);
  for (const link of linksStartingWith(`one-${A}-`)) deleteLink(link);
  peer.remove();
  deleteBridge(lan);
};

test.before(async () => {
  await cleanup();
  createBridge(lan, ids.cidr(0, 1));
  peer.create(lan, [`${peerAddress}/24`]);
  await ok('deploy', deployArgv(A), vmXml(vmA));
});
test.after.always(cleanup);

test.serial('the NIC limits hold: inbound shaped on the host end, outbound on the VM end, each within 20 %', async (t) => {
  t.regex(qdiscs(`one-${A}-0`), /qdisc htb 1: root/);
  t.regex(qdiscs('eth0', await inVm()), /qdisc htb 1: root/);
  const measured = await rates(5201, 400, 250);
  within(t, measured.inbound, 400, 'inbound');
  within(t, measured.outbound, 250, 'outbound');
});

test.serial('changed limits apply to the running VM; limits taken away are lifted', async (t) => {
  await reconfigure({ ...vmA, nics: [{ ...nicA, attributes: { INBOUND_AVG_BW: '800', OUTBOUND_AVG_BW: '500' } }] });
  const changed = await rates(5211, 800, 500);
  within(t, changed.inbound, 800, 'inbound after the change');
  within(t, changed.outbound, 500, 'outbound after the change');

  await reconfigure({ ...vmA, nics: [{ ...nicA, attributes: {} }] });
  t.notRegex(qdiscs(`one-${A}-0`), /htb/);
  t.notRegex(qdiscs('eth0', await inVm()), /htb/);
  const free = await rates(5221, 20_000, 20_000);
  t.log(`unlimited: inbound ${(free.inbound / 1000).toFixed(0)} KB/s, outbound ${(free.outbound / 1000).toFixed(0)} KB/s`);
  t.true(free.inbound > 800 * 1000 * 3 && free.outbound > 500 * 1000 * 3, 'well above the old limits');
});

test.serial('a hot-plugged NIC gets its limits, and they go with it on detach', async (t) => {
  const nic1 = { nicId: 1, bridge: lan, ip: ids.address(0, 21), mask: '255.255.255.0', attributes: { INBOUND_AVG_BW: '300' }, attach: true };
  const withNic: VmDraft = { ...vmA, nics: [nicA, nic1] };
  await ok('attach_nic', [`one-${A}`, macFor(A, 1), lan, '-', 'bridge', `one-${A}-1`, String(A), 'localhost'], actionXml(withNic));
  t.regex(qdiscs(`one-${A}-1`), /qdisc htb 1: root/);
  t.regex(execFileSync('tc', ['class', 'show', 'dev', `one-${A}-1`], { encoding: 'utf8' }), /rate 2400Kbit/);
  await ok('detach_nic', [`one-${A}`, macFor(A, 1), String(A), 'localhost'], actionXml(withNic));
  t.false(linkExists(`one-${A}-1`));
  t.throws(() => qdiscs(`one-${A}-1`), undefined, 'no link, no limits');
});

test.serial('hostile bandwidth values are refused with one line and change nothing', async (t) => {
  const before = qdiscs(`one-${A}-0`);
  const hostile: [Record<string, string>, RegExp][] = [
    [{ INBOUND_AVG_BW: '-100' }, /INBOUND_AVG_BW "-100" is not a whole number/],
    [{ INBOUND_AVG_BW: '99999999999' }, /INBOUND_AVG_BW "99999999999" is not a whole number from 0 to 4294967/],
    [{ OUTBOUND_AVG_BW: 'lots' }, /OUTBOUND_AVG_BW "lots" is not a whole number/],
    [{ OUTBOUND_AVG_BW: '100 quantum 1' }, /OUTBOUND_AVG_BW "100 quantum 1" is not a whole number/],
    [{ INBOUND_PEAK_BW: '100' }, /INBOUND_PEAK_BW and INBOUND_PEAK_KB need INBOUND_AVG_BW/],
  ];
  for (const [attributes, message] of hostile) {
    const vm: VmDraft = { ...vmA, nics: [{ ...nicA, attributes }] };
    assertOneLineRefusal(t, await runAction('reconfigure', [`one-${A}`, 'hdb', '/x/disk.1', String(A), 'localhost'], actionXml(vm)), message);
    const other: VmDraft = { id: ids.vm(1), nics: [{ ...nicA, ip: ids.address(0, 31), attributes }] };
    assertOneLineRefusal(t, await runAction('deploy', deployArgv(other.id), vmXml(other)), message);
    t.is(await (await realEngine()).findContainer(`one-${other.id}`), undefined);
    t.false(linkExists(`one-${other.id}-0`));
  }
  t.is(qdiscs(`one-${A}-0`), before, 'the running VM kept its limits');
});

test.serial('terminate removes the VM with its shaped NIC', async (t) => {
  await ok('shutdown', idArgv(A), actionXml({ ...vmA, lcmState: 12 }));
  t.false(linkExists(`one-${A}-0`));
});
