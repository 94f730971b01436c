import test from 'ava';
import { LcmState } from '../drivers/opennebula/lcm-state.ts';
import { vmmActions } from '../drivers/opennebula/vmm-actions.ts';
import { actionXml, deployArgv, idArgv, macFor, vmXml, type VmDraft } from '../drivers/opennebula/vm-document-builder.ts';
import { memoryHost, type MemoryHost } from './helpers/memory-host.ts';

// Every VMM action through vmm-actions.ts, on the in-memory engine and host: no root, no Docker, no bridges.
// The same behaviours on the real engine are in opennebula-recorded-lifecycle, opennebula-network and friends.

const BRIDGE = 'br-mem';
const draft = (id: number, extra: Partial<VmDraft> = {}): VmDraft => ({
  id,
  nics: [{ nicId: 0, bridge: BRIDGE, ip: '10.9.0.7', mask: '255.255.255.0', gateway: '10.9.0.1', dns: '10.9.0.53' }],
  ...extra,
});
const run = (host: MemoryHost, action: string, argv: string[], stdin: string) => vmmActions[action]!(argv, stdin, host.services);
const deploy = (host: MemoryHost, vm: VmDraft) => run(host, 'deploy', deployArgv(vm.id), vmXml(vm));
const on = (host: MemoryHost, action: string, vm: VmDraft, argv = idArgv(vm.id)) => run(host, action, argv, actionXml(vm));
const stateOf = async (host: MemoryHost, id: number) => (await host.engine.findContainer(`one-${id}`))?.State.Status ?? 'missing';
const pidOf = async (host: MemoryHost, id: number) => (await host.engine.inspectContainer(`one-${id}`)).State.Pid;

test('deploy prints one-<vid> and plugs each NIC: host end on the bridge, eth<n> inside with the lease', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  t.is(await deploy(host, draft(7)), 'one-7');
  t.is(await stateOf(host, 7), 'running');
  t.is(host.access.masterOf('one-7-0'), BRIDGE);
  const eth0 = host.access.interfacesOf(await pidOf(host, 7)).get('eth0');
  t.is(eth0?.mac, macFor(7, 0));
  t.deepEqual(eth0?.addresses, ['10.9.0.7/24']);
  t.deepEqual(host.access.iptablesChains.get('dockvisor-bridges'), [`-i ${BRIDGE} -o ${BRIDGE} -j ACCEPT`]);
  t.regex(host.access.files.get((await host.engine.inspectContainer('one-7')).ResolvConfPath) ?? '', /^nameserver 10\.9\.0\.53$/m);
});

test('a second deploy makes no second container; deploy of a stopped one starts it with its data (resume from poweroff)', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await deploy(host, draft(8));
  const id = (await host.engine.inspectContainer('one-8')).Id;
  t.is(await deploy(host, draft(8)), 'one-8');
  await on(host, 'shutdown', draft(8, { lcmState: LcmState.SHUTDOWN_POWEROFF }));
  t.is(await stateOf(host, 8), 'exited');
  t.is(await deploy(host, draft(8)), 'one-8');
  t.is((await host.engine.inspectContainer('one-8')).Id, id);
  t.is(await stateOf(host, 8), 'running');
  t.true(host.access.interfacesOf(await pidOf(host, 8)).has('eth0'), 'plugged again');
});

test('poweroff and undeploy keep the stopped container, terminate removes it, and a missing one is no error', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await deploy(host, draft(9));
  await on(host, 'shutdown', draft(9, { lcmState: LcmState.SHUTDOWN_UNDEPLOY }));
  t.is(await stateOf(host, 9), 'exited');
  t.false(host.access.hostLinkNames().includes('one-9-0'));
  await on(host, 'cancel', draft(9, { lcmState: LcmState.SHUTDOWN }));
  t.is(await stateOf(host, 9), 'missing');
  await t.notThrowsAsync(on(host, 'shutdown', draft(9, { lcmState: LcmState.SHUTDOWN })));
  await deploy(host, draft(10));
  await on(host, 'cancel', draft(10, { lcmState: LcmState.SHUTDOWN_POWEROFF }));
  t.is((await host.engine.inspectContainer('one-10')).State.ExitCode, 137, 'cancel kills');
  await on(host, 'cleanup', draft(10));
  t.is(await stateOf(host, 10), 'missing');
});

test('reboot and reset end running with a new process and its NICs plugged again', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await deploy(host, draft(11));
  for (const action of ['reboot', 'reset']) {
    const before = await pidOf(host, 11);
    await on(host, action, draft(11));
    const after = await pidOf(host, 11);
    t.not(after, before, action);
    t.true(host.access.interfacesOf(after).has('eth0'), action);
    t.is(host.access.masterOf('one-11-0'), BRIDGE, action);
  }
});

test('save pauses the VM in memory, restore thaws it; restore after a stop deploys it', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await deploy(host, draft(12));
  const pid = await pidOf(host, 12);
  await run(host, 'save', ['one-12', '/var/lib/one/datastores/0/12/checkpoint', 'localhost', '12', 'localhost'], actionXml(draft(12)));
  t.is(await stateOf(host, 12), 'paused');
  await run(host, 'restore', ['/var/lib/one/datastores/0/12/checkpoint', 'localhost', 'one-12', '12', 'localhost'], actionXml(draft(12)));
  t.is(await stateOf(host, 12), 'running');
  t.is(await pidOf(host, 12), pid, 'the same processes');
  await on(host, 'cancel', draft(12, { lcmState: LcmState.SHUTDOWN }));
  await run(host, 'restore', ['/c', 'localhost', 'one-12', '12', 'localhost'], actionXml(draft(12, { lcmState: LcmState.BOOT_STOPPED })));
  t.is(await stateOf(host, 12), 'running');
});

test('resize changes the limits of the container; one on a stopped VM is taken at its next start', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await deploy(host, draft(13, { memory: '128' }));
  await run(host, 'resize', ['one-13', '13', 'localhost'], actionXml(draft(13, { memory: '256' })));
  t.is((await host.engine.inspectContainer('one-13')).HostConfig.Memory, 256 * 1024 * 1024);
  await on(host, 'shutdown', draft(13, { lcmState: LcmState.SHUTDOWN_POWEROFF }));
  await deploy(host, draft(13, { memory: '64' }));
  t.is((await host.engine.inspectContainer('one-13')).HostConfig.Memory, 64 * 1024 * 1024);
});

test('snapshots: create names snap-<id>, revert keeps the VM running from the image, delete removes it', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await deploy(host, draft(14));
  t.is(await run(host, 'snapshot_create', ['one-14', '3', '14', 'localhost'], actionXml(draft(14))), 'snap-3');
  t.truthy(await host.engine.findImage('dockvisor-snapshot/one-14:snap-3'));
  const before = (await host.engine.inspectContainer('one-14')).Id;
  await run(host, 'snapshot_revert', ['one-14', 'snap-3', '14', 'localhost'], actionXml(draft(14)));
  const reverted = await host.engine.inspectContainer('one-14');
  t.not(reverted.Id, before);
  t.is(reverted.Config.Image, 'dockvisor-snapshot/one-14:snap-3');
  t.is(reverted.State.Status, 'running');
  await t.throwsAsync(run(host, 'snapshot_revert', ['one-14', 'snap-4', '14', 'localhost'], actionXml(draft(14))), { message: /snapshot snap-4 not found/ });
  await run(host, 'snapshot_delete', ['one-14', 'snap-3', '14', 'localhost'], actionXml(draft(14)));
  t.is(await host.engine.findImage('dockvisor-snapshot/one-14:snap-3'), undefined);
  await on(host, 'cleanup', draft(14));
  t.deepEqual(await host.engine.listImages(['io.dockvisor.snapshot-of=one-14']), [], 'cleanup takes the snapshots too');
});

test('attach_nic plugs the NIC marked ATTACH as eth<n>; detach_nic unplugs it', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE, 'br-mem2'] });
  await deploy(host, draft(15));
  const two = draft(15, { nics: [...draft(15).nics!, { nicId: 1, bridge: 'br-mem2', ip: '10.8.0.7', attach: true }] });
  await run(host, 'attach_nic', ['one-15', macFor(15, 1), 'br-mem2', 'virtio', 'bridge', 'one-15-1', '15', 'localhost'], actionXml(two));
  t.is(host.access.masterOf('one-15-1'), 'br-mem2');
  t.true(host.access.interfacesOf(await pidOf(host, 15)).has('eth1'));
  await t.throwsAsync(run(host, 'attach_nic', ['one-15', macFor(15, 1), 'br-other', 'virtio', 'bridge', 'one-15-1', '15', 'localhost'], actionXml(two)), {
    message: /attach_nic arguments do not match/,
  });
  await run(host, 'detach_nic', ['one-15', macFor(15, 1), '15', 'localhost'], actionXml(two));
  t.false(host.access.hostLinkNames().includes('one-15-1'));
  t.false(host.access.interfacesOf(await pidOf(host, 15)).has('eth1'));
  t.true(host.access.interfacesOf(await pidOf(host, 15)).has('eth0'));
});

test('prereconfigure refuses a VM with no container; reconfigure rewrites its DNS', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await t.throwsAsync(run(host, 'prereconfigure', ['one-16', 'hda', '16', 'localhost'], actionXml(draft(16))), { message: /container one-16 does not exist/ });
  await deploy(host, draft(16));
  await run(host, 'prereconfigure', ['one-16', 'hda', '16', 'localhost'], actionXml(draft(16)));
  const changed = draft(16, { nics: [{ ...draft(16).nics![0]!, dns: '10.9.0.54' }] });
  await run(host, 'reconfigure', ['one-16', 'hda', '/ctx', '16', 'localhost'], actionXml(changed));
  t.regex(host.access.files.get((await host.engine.inspectContainer('one-16')).ResolvConfPath) ?? '', /^nameserver 10\.9\.0\.54$/m);
});

test('poll: STATE=d for a VM with no container or one powered off, STATE=e for one whose processes failed', async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  t.is(await on(host, 'poll', draft(17)), 'STATE=d');
  await deploy(host, draft(17));
  await on(host, 'shutdown', draft(17, { lcmState: LcmState.SHUTDOWN_POWEROFF }));
  t.is(await on(host, 'poll', draft(17)), 'STATE=d');
  await deploy(host, draft(17));
  host.engine.exitByItself('one-17', 3);
  t.is(await on(host, 'poll', draft(17)), 'STATE=e');
});

test('a NIC on a bridge the host lacks is refused with OpenNebula advice, and nothing is made', async (t) => {
  const host = memoryHost(t);
  await t.throwsAsync(deploy(host, draft(18)), {
    message: /^NIC 0: bridge br-mem does not exist on this host \(create it, or use a virtual network with VN_MAD=bridge\)$/,
  });
  t.is(await stateOf(host, 18), 'missing');
  t.deepEqual(host.access.hostLinkNames(), []);
});

test("a container of the VM's name that is not this VM's is left alone", async (t) => {
  const host = memoryHost(t, { bridges: [BRIDGE] });
  await host.engine.createContainer('one-19', { Image: 'dockvisor/busybox:latest', Labels: { other: 'tool' }, HostConfig: {} });
  await t.throwsAsync(deploy(host, draft(19)), { message: /a container named one-19 exists on this host but is not this VM's/ });
  await t.throwsAsync(on(host, 'cleanup', draft(19)), { message: /is not this VM's/ });
  t.truthy(await host.engine.findContainer('one-19'));
});
