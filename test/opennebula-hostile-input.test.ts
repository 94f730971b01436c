import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, ip, ipInside, linkAlias, linkExists, linkIndex, linksStartingWith } from './helpers/net.ts';
import { recorded } from './helpers/paths.ts';
import { assertOneLineRefusal, runAction, testConfigPath, type ActionResult } from './helpers/vmm.ts';
import { actionXml, vmXml, deployArgv, idArgv, macFor, type NicDraft, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const ID = ids.vm(0);
const bridge = ids.bridge('0');
const good: VmDraft = { id: ID, nics: [{ nicId: 0, bridge, ip: ids.address(0, 11) }] };
const withNic = (nic: Partial<NicDraft>): VmDraft => ({ ...good, nics: [{ ...good.nics![0]!, ...nic }] });
const withOptions = (options: Record<string, string>): VmDraft => ({ ...good, dockvisor: options });

test.before(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  createBridge(bridge, ids.cidr(0, 1));
});
test.after.always(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  deleteBridge(bridge);
});

/** One clear line on stderr, a non-zero exit other than 42, and nothing created. */
async function assertRefused(t: import('ava').ExecutionContext, result: ActionResult, pattern: RegExp): Promise<void> {
  assertOneLineRefusal(t, result, pattern);
  t.deepEqual(await containersOf(await realEngine(), [ID]), [], 'no container was created');
  t.deepEqual(linksStartingWith(`one-${ID}-`), [], 'no link was created');
}

const bad: [string, string, RegExp][] = [
  [
    'internal entities (billion laughs)',
    `<?xml version="1.0"?><!DOCTYPE VM [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><VM><ID>${ID}</ID><NAME>&b;</NAME></VM>`,
    /DOCTYPE/,
  ],
  ['an external entity', `<?xml version="1.0"?><!DOCTYPE VM [<!ENTITY x SYSTEM "file:///etc/shadow">]><VM><ID>${ID}</ID><NAME>&x;</NAME></VM>`, /DOCTYPE/],
  ['not XML at all', 'this is not xml', /not well-formed|expected a <VM>/],
  ['a truncated document', vmXml(good).slice(0, 300), /not well-formed/],
  ['another root element', '<HOST><ID>1</ID></HOST>', /expected a <VM> document, got <HOST>/],
  ['an empty stdin', '', /expected a <VM>|not well-formed/],
  ['a missing ID', vmXml(good).replace(`<ID>${ID}</ID>`, ''), /ID is missing/],
  ['an ID that is not a number', vmXml(good).replace(`<ID>${ID}</ID>`, '<ID>12; rm -rf /</ID>'), /VM ID .* is not a whole number/],
  ['MEMORY that is not a number', vmXml({ ...good, memory: '128MB' }), /MEMORY "128MB" is not a whole number/],
  ['CPU that is not a number', vmXml({ ...good, cpu: 'lots' }), /CPU "lots" is not a number/],
  ['a NIC without MAC', vmXml(good).replace(/<MAC>.*?<\/MAC>/, ''), /NIC 0: MAC is missing/],
  ['a NIC without BRIDGE', vmXml(good).replace(/<BRIDGE>.*?<\/BRIDGE>/, ''), /BRIDGE is missing/],
  ['a repeated NAME', vmXml(good).replace('<NAME>', '<NAME>a</NAME><NAME>'), /NAME must be a single value/],
  ['shell in NAME', vmXml({ ...good, name: 'x$(reboot)' }), /NAME .* refuses/],
  ['shell in IMAGE', vmXml(withOptions({ IMAGE: 'busybox;reboot' })), /IMAGE "busybox;reboot" is not a valid image reference/],
  ['an option in IMAGE', vmXml(withOptions({ IMAGE: '--privileged' })), /is not a valid image reference/],
  ['an unterminated quote in CMD', vmXml(withOptions({ CMD: 'sh -c "echo' })), /CMD has an unterminated double quote/],
  ['a newline in CMD', vmXml(withOptions({ CMD: 'sleep 1\nreboot' })), /CMD must be a single line/],
  ['shell in BRIDGE', vmXml(withNic({ bridge: 'br0;reboot' })), /BRIDGE "br0;reboot" is not a valid interface name/],
  ['a too long BRIDGE', vmXml(withNic({ bridge: 'bridge-name-too-long' })), /BRIDGE .* is not a valid interface name/],
  ['shell in TARGET', vmXml(withNic({ target: 'one-1 && reboot' })), /TARGET .* is not a valid interface name/],
  ['a path in TARGET', vmXml(withNic({ target: '../../etc' })), /TARGET .* is not a valid interface name/],
  ['shell in MAC', vmXml(withNic({ mac: '02:00:00:00:00:01;reboot' })), /MAC .* is not a MAC address/],
  ['a multicast MAC', vmXml(withNic({ mac: '01:00:5e:00:00:01' })), /multicast MAC/],
  ['shell in IP', vmXml(withNic({ ip: '198.18.30.11 dev lo' })), /IP .* is not an IPv4 address/],
  ['a bad netmask', vmXml(withNic({ mask: '255.0.255.0' })), /not a contiguous netmask/],
  ['shell in GATEWAY', vmXml(withNic({ gateway: '$(reboot)' })), /GATEWAY .* is not an IPv4 address/],
  ['shell in DNS', vmXml(withNic({ dns: '198.18.30.1;reboot' })), /DNS .* is not an IP address/],
  ['shell in the hostname', vmXml({ ...good, context: { SET_HOSTNAME: 'a;reboot' } }), /SET_HOSTNAME "a;reboot" is not a valid hostname/],
  ['an unknown DOCKVISOR option', vmXml(withOptions({ SECCOMP: 'unconfined' })), /DOCKVISOR\/SECCOMP is not a known option/],
  ['a privileged container', vmXml(withOptions({ PRIVILEGED: 'YES' })), /a privileged container is not allowed by this host's configuration/],
  ['the host network', vmXml({ ...good, nics: [], dockvisor: { HOST_NETWORK: 'YES' } }), /the host network is not allowed/],
  ['an added capability', vmXml(withOptions({ CAP_ADD: 'SYS_ADMIN' })), /capability SYS_ADMIN is not allowed/],
  ['a host device', vmXml(withOptions({ DEVICES: '/dev/kvm' })), /device \/dev\/kvm is not allowed/],
  ['a host mount', vmXml(withOptions({ MOUNTS: '/:/host' })), /mounting host path \/ is not allowed/],
  ['a bridge that does not exist', vmXml(withNic({ bridge: 'dvt-nosuch' })), /bridge dvt-nosuch does not exist on this host/],
  // Open vSwitch and VXLAN NICs: names reach ovs-vsctl's OVSDB syntax, and VXLAN's own fields are OpenNebula's pre's business.
  ['OVSDB syntax in an Open vSwitch BRIDGE', vmXml(withNic({ openvswitch: true, bridge: 'br0,x=y' })), /BRIDGE "br0,x=y" is not a valid interface name/],
  ['a command in an Open vSwitch BRIDGE', vmXml(withNic({ openvswitch: true, bridge: 'br0 -- del-br' })), /BRIDGE .* is not a valid interface name/],
  ['OVSDB syntax in an Open vSwitch TARGET', vmXml(withNic({ openvswitch: true, target: 'p{}"=x' })), /TARGET .* is not a valid interface name/],
  [
    'a VLAN_ID that is not a VLAN on Open vSwitch',
    vmXml(withNic({ openvswitch: true, attributes: { VLAN_ID: '5 -- del-br x' } })),
    /VLAN_ID .* is not a whole number/,
  ],
  ['an Open vSwitch bridge that does not exist', vmXml(withNic({ openvswitch: true, bridge: 'dvt-nosuch' })), /bridge dvt-nosuch does not exist on this host/],
  [
    'a VXLAN NIC whose PHYDEV and VLAN_ID carry shell, on a bridge that does not exist',
    vmXml(withNic({ vnMad: 'vxlan', phydev: 'eth0;reboot', vlanId: '1 && reboot', bridge: 'dvt-nosuch' })),
    /bridge dvt-nosuch does not exist on this host/,
  ],
  [
    'an image that is not on the host',
    vmXml(withOptions({ IMAGE: 'dockvisor/not-here:1' })),
    /image dockvisor\/not-here:1 is not on this host and pulling is disabled/,
  ],
  ['a VM id that differs from argv', vmXml({ ...good, id: ID + 1 }), /VM id 9401 on the command line does not match VM 9402 on stdin/],
];

for (const [what, document, pattern] of bad) {
  test.serial(`deploy refuses ${what} with one clear line and creates nothing`, async (t) => {
    await assertRefused(t, await runAction('deploy', deployArgv(ID), document), pattern);
  });
}

test.serial('a 50 MB document is refused without being read whole', async (t) => {
  const huge = `<VM><ID>${ID}</ID><NAME>${'x'.repeat(50 * 1024 * 1024)}</NAME></VM>`;
  await assertRefused(t, await runAction('deploy', deployArgv(ID), huge), /larger than 4194304 bytes/);
});

test.serial('the action data of other actions is checked the same way', async (t) => {
  const entity = `<!DOCTYPE x [<!ENTITY a "b">]><VMM_DRIVER_ACTION_DATA>&a;</VMM_DRIVER_ACTION_DATA>`;
  await assertRefused(t, await runAction('shutdown', idArgv(ID), entity), /DOCTYPE/);
  const deployDocAsActionData = readFileSync(join(recorded, 'deploy.stdin.vm.xml'), 'utf8');
  await assertRefused(
    t,
    await runAction('shutdown', ['one-1', 'localhost', '1', 'localhost'], deployDocAsActionData),
    /expected a <VMM_DRIVER_ACTION_DATA> document, got <VM>/,
  );
});

test.serial('a snapshot name that dockvisor did not make is refused', async (t) => {
  const result = await runAction('snapshot_revert', [`one-${ID}`, '../../x', String(ID), 'localhost'], actionXml(good));
  t.is(result.code, 1);
  t.regex(result.stderr, /does not exist on this host|is not one dockvisor made/);
});

test.serial('actions dockvisor cannot perform say so and fail', async (t) => {
  for (const action of ['migrate', 'migrate_local', 'resize_disk']) {
    const result = await runAction(action, idArgv(ID), actionXml(good));
    t.is(result.code, 1);
    t.is(result.stderr, `${action}: not supported by dockvisor\n`);
  }
});

test.serial('a broken host configuration is reported in one line', async (t) => {
  const config = testConfigPath({ suspendMode: 'hibernate' }, 'broken.json');
  const result = await runAction('deploy', deployArgv(ID), vmXml(good), config);
  await assertRefused(t, result, /suspendMode must be "pause" or "stop"/);
});

test.serial('the host admin can allow what templates may not ask for by default', async (t) => {
  const config = testConfigPath({ allow: { capabilities: ['NET_ADMIN'] } }, 'allow-net-admin.json');
  const vm = withOptions({ CAP_ADD: 'NET_ADMIN' });
  const result = await runAction('deploy', deployArgv(ID), vmXml(vm), config);
  t.is(result.code, 0, result.stderr);
  const container = await (await realEngine()).inspectContainer(`one-${ID}`);
  t.deepEqual(container.HostConfig.CapAdd, ['NET_ADMIN']);
  await runAction('shutdown', idArgv(ID), actionXml({ ...vm, lcmState: 12 }), config);
  t.deepEqual(await containersOf(await realEngine(), [ID]), []);
});

/** Links a NIC TARGET may name that are not this VM's: a host NIC, the VM's own bridge, another VM's veth. */
const OTHER_VM = ids.vm(1);
const hostNic = 'dvt-hostnic0';
const otherVmLink = `one-${OTHER_VM}-0`;
const foreignLinks: [string, string][] = [
  ['a host NIC', hostNic],
  ["the VM's own bridge", bridge],
  ["another VM's veth", otherVmLink],
];

function makeForeignLinks(): void {
  deleteLink(hostNic);
  deleteLink(otherVmLink);
  ip('link', 'add', hostNic, 'type', 'veth', 'peer', 'name', 'dvt-hostnic0p'); // no dummy links on this kernel
  ip('link', 'add', otherVmLink, 'type', 'veth', 'peer', 'name', 'dvt-other0p');
  ip('link', 'set', otherVmLink, 'alias', `dockvisor:opennebula:${OTHER_VM}`);
}

/** Every foreign link is still there, as it was (same index). */
function assertForeignLinksIntact(t: import('ava').ExecutionContext, before: Map<string, string | undefined>): void {
  for (const [name, index] of before) t.is(linkIndex(name), index, `${name} is untouched`);
}

const foreignIndexes = () => new Map([hostNic, bridge, otherVmLink].map((name) => [name, linkIndex(name)]));

for (const [what, name] of foreignLinks) {
  test.serial(`deploy refuses a NIC TARGET naming ${what}, and leaves it alone`, async (t) => {
    makeForeignLinks();
    const before = foreignIndexes();
    await assertRefused(
      t,
      await runAction('deploy', deployArgv(ID), vmXml(withNic({ target: name }))),
      new RegExp(`a link named ${name} already exists on this host and is not this VM's`),
    );
    assertForeignLinksIntact(t, before);
  });

  test.serial(`a stop of a VM whose container is gone never deletes ${what} its NIC names`, async (t) => {
    makeForeignLinks();
    const before = foreignIndexes();
    const vm = withNic({ target: name });
    for (const [action, lcmState] of [
      ['shutdown', 12],
      ['cancel', 12],
      ['shutdown', 18],
      ['cleanup', 12],
    ] as const) {
      const result = await runAction(action, idArgv(ID), actionXml({ ...vm, lcmState }));
      t.is(result.code, 0, `${action}: ${result.stderr}`);
    }
    assertForeignLinksIntact(t, before);
  });
}

test.serial('deploy refuses a link of its own NIC name that dockvisor did not make for it', async (t) => {
  const squatter = `one-${ID}-0`;
  ip('link', 'add', squatter, 'type', 'veth', 'peer', 'name', 'dvt-squat0p');
  try {
    const result = await runAction('deploy', deployArgv(ID), vmXml(good));
    t.is(result.code, 1);
    t.regex(result.stderr, new RegExp(`NIC 0: a link named ${squatter} already exists on this host and is not this VM's`));
    t.deepEqual(await containersOf(await realEngine(), [ID]), []);
    t.true(linkExists(squatter), 'the link is left alone');
  } finally {
    deleteLink(squatter);
  }
});

test.serial('two NICs naming one host interface are refused', async (t) => {
  const twice: VmDraft = { ...good, nics: [good.nics![0]!, { nicId: 1, bridge, ip: '198.18.30.12', target: `one-${ID}-0` }] };
  await assertRefused(t, await runAction('deploy', deployArgv(ID), vmXml(twice)), /NIC 1: host interface one-9401-0 is named by another NIC of the VM too/);
});

test.serial('detach_nic of a NIC naming a foreign link leaves the link alone', async (t) => {
  makeForeignLinks();
  const before = foreignIndexes();
  t.is((await runAction('deploy', deployArgv(ID), vmXml(good))).code, 0);
  try {
    for (const [, name] of foreignLinks) {
      const vm: VmDraft = { ...good, nics: [good.nics![0]!, { nicId: 1, bridge, ip: '198.18.30.12', target: name }] };
      const result = await runAction('detach_nic', [`one-${ID}`, macFor(ID, 1), String(ID), 'localhost'], actionXml(vm));
      t.is(result.code, 0, result.stderr);
    }
    assertForeignLinksIntact(t, before);
    t.true(linkExists(`one-${ID}-0`), "the VM's own NIC is still plugged");
  } finally {
    await runAction('cancel', idArgv(ID), actionXml({ ...good, lcmState: 12 }));
  }
});

test.serial("a VM's links carry its identity, and those of a VM plugged before links were marked are still its own", async (t) => {
  t.is((await runAction('deploy', deployArgv(ID), vmXml(good))).code, 0);
  try {
    t.is(linkAlias(`one-${ID}-0`), `dockvisor:opennebula:${ID}`);
    const pid = (await (await realEngine()).inspectContainer(`one-${ID}`)).State.Pid;
    t.notRegex(ipInside(pid, 'link', 'show', 'eth0'), /alias/, 'the identity stays on the host end');

    ip('link', 'set', `one-${ID}-0`, 'alias', ''); // as a NIC plugged by an earlier dockvisor
    const reboot = await runAction('reboot', idArgv(ID), actionXml(good));
    t.is(reboot.code, 0, reboot.stderr);
    t.is(linkAlias(`one-${ID}-0`), `dockvisor:opennebula:${ID}`, 'plugged again, marked');

    ip('link', 'set', `one-${ID}-0`, 'alias', '');
    const detach = await runAction('detach_nic', [`one-${ID}`, macFor(ID, 0), String(ID), 'localhost'], actionXml(good));
    t.is(detach.code, 0, detach.stderr);
    t.false(linkExists(`one-${ID}-0`), "a host end paired with the VM inside is the VM's");
  } finally {
    await runAction('cancel', idArgv(ID), actionXml({ ...good, lcmState: 12 }));
  }
});

test.after.always(() => {
  deleteLink(hostNic);
  deleteLink(otherVmLink);
});
