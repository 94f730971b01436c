import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from '../drivers/opennebula/vm-document-builder.ts';
import { LcmState } from '../drivers/opennebula/lcm-state.ts';
import { execIn } from './helpers/datastore.ts';
import { OpenNebulaSecurityGroups, securityGroupRulesXml, type FilteredNic, type SecurityGroupRule } from './helpers/opennebula-security-groups.ts';
import { repoRoot, stateDir, vmmRemotes } from './helpers/paths.ts';
import { SecondEngine } from './helpers/second-engine.ts';
import { testIds } from './helpers/test-ids.ts';
import { collect, startExecutable, testConfigPath } from './helpers/vmm.ts';

// OpenNebula's security groups, as its fw driver makes them (test/helpers/opennebula-security-groups.ts), on a
// host with its own Docker engine in a network namespace of its own, so that its iptables are the test's alone:
// a dockvisor VM and a "KVM VM" (a namespace behind a veth named as libvirt names a tap) on one bridge.
const ids = testIds(import.meta.filename);
const sg = (host: number) => `${ids.network(0)}.${host}`; // the filtered bridge, 198.18.175.0/26
const open = (host: number) => `${ids.network(0)}.${64 + host}`; // a bridge with no group, 198.18.175.64/26
const engine = new SecondEngine('dvt-sg-engine', `${ids.network(0)}.129/25`, ['--live-restore']);
const HOST_NS = engine.name;
const KVM_NS = 'dvt-sgk';
const CLIENT_NS = 'dvt-sgc';
const FILTERED = ids.bridge('0');
const UNFILTERED = ids.bridge('1');
const OPEN_PORT = 7001;
const CLOSED_PORT = 7002;
const work = join(stateDir, 'opennebula-security-groups');
const config = () => testConfigPath({ engineSocket: engine.socket }, 'security-groups.json');

/** One group: TCP 7001 in, everything out. */
const GROUP: SecurityGroupRule[] = [
  { securityGroupId: 100, protocol: 'TCP', range: String(OPEN_PORT), ruleType: 'inbound' },
  { securityGroupId: 100, protocol: 'ALL', ruleType: 'outbound' },
];

const dockvisorVm: VmDraft = {
  id: ids.vm(0),
  nics: [{ nicId: 0, bridge: FILTERED, ip: sg(10), mask: '255.255.255.192', vnMad: 'fw', securityGroups: '100' }],
  extraTemplate: securityGroupRulesXml(GROUP),
};
const plainVm: VmDraft = { id: ids.vm(2), nics: [{ nicId: 0, bridge: UNFILTERED, ip: open(10), mask: '255.255.255.192' }] };
/** The dockvisor VM's NIC as the driver takes it with dockvisor's NIC class: its host interface is NIC/TARGET. */
const dockvisorNic: FilteredNic = { vmId: dockvisorVm.id, nicId: 0, tap: `one-${dockvisorVm.id}-0`, rules: GROUP };
/** The KVM VM's NIC: the tap libvirt made, one-<vid>-<nic>. */
const kvmNic: FilteredNic = { vmId: ids.vm(1), nicId: 0, tap: `one-${ids.vm(1)}-0`, rules: GROUP };

const inHost = (...args: string[]) => execFileSync('ip', ['netns', 'exec', HOST_NS, ...args], { encoding: 'utf8' });
const iptablesS = (chain: string) => inHost('iptables', '-w', '-S', chain).trim().split('\n');
const forwardPolicy = () => inHost('iptables', '-w', '-S', 'FORWARD').match(/^-P FORWARD (\w+)/m)?.[1];

const securityGroups = new OpenNebulaSecurityGroups({
  iptables: (args) => inHost('iptables', '-w', '3', ...args),
  hasInterface: (name) => {
    try {
      execFileSync('ip', ['-n', HOST_NS, 'link', 'show', 'dev', name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  },
});

/** A VMM action on the host, as OpenNebula runs it there: in the host's network namespace (with its /sys), on its engine. */
async function vmm(action: string, argv: string[], stdin: string): Promise<void> {
  const child = startExecutable('ip', ['netns', 'exec', HOST_NS, join(vmmRemotes, action), ...argv], stdin, {
    env: { ...process.env, DOCKVISOR_CONFIG: config() },
  });
  const result = await collect(child);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
}

const PROBE = 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()';

/** Whether a TCP connection opens within 2 s, made by `enter` (a command that runs the rest in a namespace). */
function connectsFrom(enter: string[], address: string, port: number): boolean {
  try {
    execFileSync(enter[0]!, [...enter.slice(1), 'python3', '-c', PROBE, address, String(port)], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
const connects = (ns: string, address: string, port: number) => connectsFrom(['ip', 'netns', 'exec', ns], address, port);

/** A namespace behind a veth on a bridge of the host: the veth's host end is named as libvirt names a tap. */
function guestNamespace(ns: string, links: { hostEnd: string; inside: string; bridge: string; address: string }[]): void {
  execFileSync('ip', ['netns', 'add', ns]);
  for (const link of links) {
    inHost('ip', 'link', 'add', link.hostEnd, 'type', 'veth', 'peer', 'name', link.inside, 'netns', ns);
    inHost('ip', 'link', 'set', link.hostEnd, 'master', link.bridge, 'up');
    execFileSync('ip', ['-n', ns, 'addr', 'add', `${link.address}/26`, 'dev', link.inside]);
    execFileSync('ip', ['-n', ns, 'link', 'set', link.inside, 'up']);
  }
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

function removeNamespace(ns: string): void {
  execFileSync('sh', ['-c', 'ip netns pids "$1" 2>/dev/null | xargs -r kill; ip netns del "$1" 2>/dev/null; true', 'sh', ns]);
}

/** Listens on both ports inside a dockvisor VM (busybox httpd goes to the background itself). */
function listenIn(container: string, address: string): void {
  for (const port of [OPEN_PORT, CLOSED_PORT]) execIn(engine.socket, container, 'httpd', '-p', `${address}:${port}`, '-h', '/tmp');
}

test.before(async () => {
  rmSync(work, { recursive: true, force: true });
  for (const ns of [KVM_NS, CLIENT_NS]) removeNamespace(ns);
  mkdirSync(work, { recursive: true });
  await engine.start();
  for (const bridge of [FILTERED, UNFILTERED]) {
    inHost('ip', 'link', 'add', bridge, 'type', 'bridge');
    inHost('ip', 'link', 'set', bridge, 'up');
  }
  guestNamespace(KVM_NS, [{ hostEnd: kvmNic.tap, inside: 'eth0', bridge: FILTERED, address: sg(20) }]);
  guestNamespace(CLIENT_NS, [
    { hostEnd: 'dvt-sgc0', inside: 'eth0', bridge: FILTERED, address: sg(30) },
    { hostEnd: 'dvt-sgc1', inside: 'eth1', bridge: UNFILTERED, address: open(30) },
  ]);
  // busybox httpd goes to the background itself; removing the namespace ends it.
  for (const port of [OPEN_PORT, CLOSED_PORT]) execFileSync('ip', ['netns', 'exec', KVM_NS, 'busybox', 'httpd', '-p', `${sg(20)}:${port}`, '-h', work]);
});

test.after.always(async () => {
  for (const vm of [dockvisorVm, plainVm]) {
    await vmm('shutdown', idArgv(vm.id), actionXml({ ...vm, lcmState: LcmState.SHUTDOWN })).catch(() => undefined);
  }
  for (const ns of [KVM_NS, CLIENT_NS]) removeNamespace(ns);
  await engine.stop();
  engine.removeData();
  rmSync(work, { recursive: true, force: true });
});

test.serial("dockvisor's NIC class for OpenNebula's network drivers is valid Ruby", (t) => {
  t.is(execFileSync('ruby', ['-c', join(repoRoot, 'remotes/vnm/vnmmad-load.d/dockvisor.rb')], { encoding: 'utf8' }).trim(), 'Syntax OK');
});

const oldRule = ['DOCKER-USER', '-i', FILTERED, '-o', FILTERED, '-j', 'ACCEPT'];

test.serial("OpenNebula's group closes a port of the KVM VM, and an ACCEPT in DOCKER-USER, where dockvisor put it before, opens it again", (t) => {
  // Where dockerd turns IPv4 forwarding on itself it sets FORWARD's policy to DROP; in a fresh namespace it
  // leaves ACCEPT. This test runs under ACCEPT, the others under DROP: the group holds under both.
  t.log(`FORWARD policy left by the engine: ${forwardPolicy()}`);
  securityGroups.activate([kvmNic]);
  t.true(iptablesS('FORWARD').includes('-A FORWARD -m physdev --physdev-is-bridged -j opennebula'));
  const chainIn = `one-${kvmNic.vmId}-0-i`;
  t.deepEqual(iptablesS(chainIn), [
    `-N ${chainIn}`,
    `-A ${chainIn} -m state --state RELATED,ESTABLISHED -j RETURN`,
    `-A ${chainIn} -p tcp -m multiport --dports ${OPEN_PORT} -j RETURN`,
    `-A ${chainIn} -j DROP`,
  ]);
  t.true(connects(CLIENT_NS, sg(20), OPEN_PORT));
  t.false(connects(CLIENT_NS, sg(20), CLOSED_PORT), 'closed by the group');
  inHost('iptables', '-w', '-I', ...oldRule);
  t.true(connects(CLIENT_NS, sg(20), CLOSED_PORT), "the old rule bypasses the group: DOCKER-USER runs before OpenNebula's chain");
});

test.serial('a dockvisor VM is filtered by the group exactly like the KVM VM, both ways; its deploy took the old rule back', async (t) => {
  inHost('iptables', '-w', '-P', 'FORWARD', 'DROP');
  await vmm('deploy', deployArgv(dockvisorVm.id), vmXml(dockvisorVm));
  t.false(iptablesS('DOCKER-USER').includes(`-A ${oldRule.join(' ')}`), 'taken back as the bridge was opened');
  t.regex(inHost('ip', '-o', 'link', 'show', 'dev', dockvisorNic.tap), new RegExp(` master ${FILTERED} `), 'NIC/TARGET is the host end, in the bridge');
  securityGroups.activate([dockvisorNic]);
  t.true(
    iptablesS('opennebula').includes(`-A opennebula -m physdev --physdev-out ${dockvisorNic.tap} --physdev-is-bridged -j one-${dockvisorVm.id}-0-i`),
    'the chains hang on NIC/TARGET',
  );
  listenIn(`one-${dockvisorVm.id}`, sg(10));
  t.true(connects(CLIENT_NS, sg(10), OPEN_PORT));
  t.false(connects(CLIENT_NS, sg(10), CLOSED_PORT), 'closed by the group');
  t.true(connects(CLIENT_NS, sg(20), OPEN_PORT));
  t.false(connects(CLIENT_NS, sg(20), CLOSED_PORT));
  t.true(connects(KVM_NS, sg(10), OPEN_PORT), 'KVM VM to dockvisor VM');
  t.false(connects(KVM_NS, sg(10), CLOSED_PORT));
  const pid = execFileSync('docker', ['-H', `unix://${engine.socket}`, 'inspect', '-f', '{{.State.Pid}}', `one-${dockvisorVm.id}`], {
    encoding: 'utf8',
  }).trim();
  const fromVm = ['nsenter', `--net=/proc/${pid}/ns/net`];
  t.true(connectsFrom(fromVm, sg(20), OPEN_PORT), 'dockvisor VM to KVM VM');
  t.false(connectsFrom(fromVm, sg(20), CLOSED_PORT));
});

test.serial("VMs on a bridge with no group still reach each other, through dockvisor's chain jumped last", async (t) => {
  await vmm('deploy', deployArgv(plainVm.id), vmXml(plainVm));
  listenIn(`one-${plainVm.id}`, open(10));
  t.true(connects(CLIENT_NS, open(10), CLOSED_PORT), 'no group: every port');
  const forward = iptablesS('FORWARD');
  t.is(forward.at(-1), '-A FORWARD -j dockvisor-bridges');
  t.true(forward.indexOf('-A FORWARD -m physdev --physdev-is-bridged -j opennebula') < forward.length - 1);
  t.deepEqual(iptablesS('dockvisor-bridges').slice(1), [`-A dockvisor-bridges -i ${UNFILTERED} -o ${UNFILTERED} -j ACCEPT`], 'nothing for the filtered bridge');
  t.is(forwardPolicy(), 'DROP');
});

test.serial('after the engine restarts and puts its jumps back at the top of FORWARD, nothing changes', async (t) => {
  const before = iptablesS('FORWARD');
  await engine.restart();
  const after = iptablesS('FORWARD');
  t.log(after.join('\n'));
  t.is(after.at(-1), '-A FORWARD -j dockvisor-bridges');
  t.true(after.indexOf('-A FORWARD -j DOCKER-USER') < after.indexOf('-A FORWARD -m physdev --physdev-is-bridged -j opennebula'));
  t.is(after.length, before.length);
  t.true(connects(CLIENT_NS, sg(10), OPEN_PORT));
  t.false(connects(CLIENT_NS, sg(10), CLOSED_PORT));
  t.false(connects(CLIENT_NS, sg(20), CLOSED_PORT));
  t.true(connects(CLIENT_NS, open(10), CLOSED_PORT));
});

test.serial("OpenNebula's clean takes the NICs' chains away, and its chain's final ACCEPT lets everything through again", (t) => {
  securityGroups.deactivate([dockvisorNic, kvmNic]);
  t.deepEqual(iptablesS('opennebula'), ['-N opennebula', '-A opennebula -j ACCEPT']);
  t.false(inHost('iptables', '-w', '-S').includes(`one-${dockvisorVm.id}-0`));
  t.false(inHost('iptables', '-w', '-S', 'INPUT').includes('physdev'));
  t.true(connects(CLIENT_NS, sg(10), CLOSED_PORT));
  t.true(connects(CLIENT_NS, sg(20), CLOSED_PORT));
});
