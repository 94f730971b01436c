import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, hostPings, ipInside, linkExists, linksStartingWith } from './helpers/net.ts';
import { runAction } from './helpers/vmm.ts';
import { actionXml, vmXml, deployArgv, idArgv, macFor, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const A = ids.vm(0);
const B = ids.vm(1);
const lan = ids.bridge('0');
const second = ids.bridge('1');

const vmA: VmDraft = {
  id: A,
  name: 'web-a',
  nics: [
    {
      nicId: 0,
      bridge: lan,
      ip: ids.address(0, 11),
      mask: '255.255.255.0',
      gateway: ids.address(0, 1),
      dns: ids.address(0, 53),
      mtu: '1400',
      ip6: '2001:2::11',
    },
  ],
};
const vmB: VmDraft = { id: B, name: 'web-b', nics: [{ nicId: 0, bridge: lan, ip: ids.address(0, 12), mask: '255.255.255.0' }] };

async function ok(action: string, argv: string[], stdin: string): Promise<string> {
  const result = await runAction(action, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
  return result.stdout;
}

async function pidOf(id: number): Promise<number> {
  return (await (await realEngine()).inspectContainer(`one-${id}`)).State.Pid;
}

/** Runs a command inside the container (its own filesystem, network and pid namespaces), bounded in time. */
function inside(pid: number, ...command: string[]): string {
  return execFileSync('nsenter', [`--target=${pid}`, '--mount', '--uts', '--ipc', '--net', '--pid', ...command], { encoding: 'utf8', timeout: 10_000 });
}

const cleanup = async () => {
  await removeContainersOf(await realEngine(), [A, B]);
  for (const link of linksStartingWith(`one-${A}-`, `one-${B}-`)) deleteLink(link);
  deleteBridge(lan);
  deleteBridge(second);
};

test.before(async () => {
  await cleanup();
  createBridge(lan, ids.cidr(0, 1));
  createBridge(second, ids.cidr(1, 1));
  await ok('deploy', deployArgv(A), vmXml(vmA));
  await ok('deploy', deployArgv(B), vmXml(vmB));
});

test.after.always(cleanup);

test.serial('each VM has its own IP on the bridge: the host and the other VM reach it', async (t) => {
  t.true(hostPings('198.18.10.11'), 'host reaches VM A');
  t.true(hostPings('198.18.10.12'), 'host reaches VM B');
  const pidA = await pidOf(A);
  t.notThrows(() => inside(pidA, 'ping', '-c', '1', '-W', '2', '198.18.10.12'), 'VM A reaches VM B');
});

test.serial('the lease is applied from the host: MAC, prefix, gateway, MTU, IPv6, DNS and hostname', async (t) => {
  const pid = await pidOf(A);
  const link = ipInside(pid, '-o', 'link', 'show', 'dev', 'eth0');
  t.regex(link, new RegExp(macFor(A, 0)));
  t.regex(link, /mtu 1400/);
  t.regex(ipInside(pid, '-o', 'addr', 'show', 'dev', 'eth0'), /inet 198\.18\.10\.11\/24/);
  t.regex(ipInside(pid, '-6', '-o', 'addr', 'show', 'dev', 'eth0'), /2001:2::11\/64/);
  t.regex(ipInside(pid, 'route', 'show', 'default'), /default via 198\.18\.10\.1 dev eth0/);
  t.regex(inside(pid, 'cat', '/etc/resolv.conf'), /nameserver 198\.18\.10\.53/);
  t.is(inside(pid, 'hostname').trim(), 'web-a');
  t.regex(inside(pid, 'cat', '/etc/hosts'), /198\.18\.10\.11\s+web-a/);
});

test.serial('a NIC is hot-plugged and hot-unplugged', async (t) => {
  const nic = { nicId: 1, bridge: second, ip: '198.18.11.11', mask: '255.255.255.0', attach: true };
  const withNic: VmDraft = { ...vmA, nics: [...vmA.nics!, nic] };
  await ok('attach_nic', [`one-${A}`, macFor(A, 1), second, '-', 'bridge', `one-${A}-1`, String(A), 'localhost'], actionXml(withNic));
  t.true(linkExists(`one-${A}-1`));
  t.regex(ipInside(await pidOf(A), '-o', 'addr', 'show', 'dev', 'eth1'), /198\.18\.11\.11\/24/);
  t.true(hostPings('198.18.11.11'), 'host reaches the new NIC');

  await ok('detach_nic', [`one-${A}`, macFor(A, 1), String(A), 'localhost'], actionXml(withNic));
  t.false(linkExists(`one-${A}-1`));
  t.false(ipInside(await pidOf(A), '-o', 'link').includes('eth1'));
  t.true(hostPings('198.18.10.11'), 'the first NIC still works');
});

test.serial('resize changes CPU and memory limits live', async (t) => {
  const engine = await realEngine();
  const before = await engine.inspectContainer(`one-${A}`);
  await ok('resize', [`one-${A}`, String(A), 'localhost'], actionXml({ ...vmA, cpu: '1.5', vcpu: '2', memory: '256' }));
  const after = await engine.inspectContainer(`one-${A}`);
  t.is(after.State.Pid, before.State.Pid, 'the VM kept running');
  t.is(after.HostConfig.CpuQuota, 150_000);
  t.is(after.HostConfig.CpuShares, 1536);
  t.is(after.HostConfig.Memory, 256 * 1024 * 1024);
  const limit = readFileSync(`/sys/fs/cgroup/memory/docker/${after.Id}/memory.limit_in_bytes`, 'utf8');
  t.is(Number(limit), 256 * 1024 * 1024, 'the cgroup enforces the new size');
});

test.serial('snapshots: create prints the name, revert brings the files back with networking, delete removes it', async (t) => {
  const engine = await realEngine();
  inside(await pidOf(A), 'sh', '-c', 'echo before > /root/state');
  const created = await ok('snapshot_create', [`one-${A}`, '0', String(A), 'localhost'], actionXml(vmA));
  t.is(created, 'snap-0\n');
  inside(await pidOf(A), 'sh', '-c', 'echo after > /root/state');

  await ok('snapshot_revert', [`one-${A}`, 'snap-0', String(A), 'localhost'], actionXml(vmA));
  const pid = await pidOf(A);
  t.is(inside(pid, 'cat', '/root/state').trim(), 'before');
  t.true(hostPings('198.18.10.11'), 'networking is back after revert');

  await ok('snapshot_delete', [`one-${A}`, 'snap-0', String(A), 'localhost'], actionXml(vmA));
  t.is(await engine.findImage(`dockvisor-snapshot/one-${A}:snap-0`), undefined);
});

test.serial('reconfigure applies new DNS servers from the context', async (t) => {
  const changed: VmDraft = { ...vmA, nics: [{ ...vmA.nics![0]!, dns: '198.18.10.54 198.18.10.55' }] };
  await ok('prereconfigure', [`one-${A}`, 'hdb', String(A), 'localhost'], actionXml(changed));
  await ok('reconfigure', [`one-${A}`, 'hdb', '/var/lib/one/datastores/100/9101/disk.1', String(A), 'localhost'], actionXml(changed));
  const resolv = inside(await pidOf(A), 'cat', '/etc/resolv.conf');
  t.regex(resolv, /nameserver 198\.18\.10\.54\nnameserver 198\.18\.10\.55/);
});

test.serial('poll reports state and usage in the 5.x format', async (t) => {
  hostPings('198.18.10.12');
  const line = await ok('poll', idArgv(B), actionXml(vmB));
  t.regex(line, /^STATE=a CPU=\d+\.\d\d MEMORY=\d+ NETRX=\d+ NETTX=\d+\n$/);
  t.true(Number(/NETRX=(\d+)/.exec(line)![1]) > 0, 'traffic that crossed the veth is counted');
  await ok('save', [`one-${B}`, '/tmp/checkpoint', 'localhost', String(B), 'localhost'], actionXml(vmB));
  t.regex(await ok('poll', idArgv(B), actionXml(vmB)), /^STATE=p /);
  await ok('restore', ['/tmp/checkpoint', 'localhost', `one-${B}`, String(B), 'localhost'], actionXml(vmB));
  await ok('shutdown', idArgv(B), actionXml({ ...vmB, lcmState: 18 }));
  t.is(await ok('poll', idArgv(B), actionXml(vmB)), 'STATE=d\n');
});

test.serial('terminate removes the VM, its NICs and every snapshot image it had', async (t) => {
  const engine = await realEngine();
  await ok('snapshot_create', [`one-${A}`, '1', String(A), 'localhost'], actionXml(vmA));
  await ok('shutdown', idArgv(A), actionXml({ ...vmA, lcmState: 12 }));
  t.is(await engine.findContainer(`one-${A}`), undefined);
  t.false(linkExists(`one-${A}-0`));
  t.deepEqual(await engine.listImages([`io.dockvisor.snapshot-of=one-${A}`]), []);
});
