import test from 'ava';
import { BridgeFirewall } from '../drivers/core/bridge-firewall.ts';
import { MemoryHostAccess } from '../drivers/core/memory-host-access.ts';
import { vmmActions } from '../drivers/opennebula/vmm-actions.ts';
import { deployArgv, vmXml } from '../drivers/opennebula/vm-document-builder.ts';
import { memoryHost } from './helpers/memory-host.ts';

// The order of the host's FORWARD rules, on the in-memory host: the real chains are in opennebula-security-groups.

const within = (bridge: string) => `-i ${bridge} -o ${bridge} -j ACCEPT`;
const OPENNEBULA_JUMP = '-m physdev --physdev-is-bridged -j opennebula';

function host(): { access: MemoryHostAccess; firewall: BridgeFirewall; chain: (name: string) => string[] | undefined } {
  const access = new MemoryHostAccess();
  return { access, firewall: new BridgeFirewall(access), chain: (name) => access.iptablesChains.get(name) };
}

test('a bridge is opened in dockvisor-bridges, jumped to last from FORWARD; nothing goes into DOCKER-USER', async (t) => {
  const { firewall, chain } = host();
  await firewall.allowWithinBridges(['br-a', 'br-b', 'br-a']);
  await firewall.allowWithinBridges(['br-a']);
  t.deepEqual(chain('dockvisor-bridges'), [within('br-a'), within('br-b')]);
  t.deepEqual(chain('FORWARD'), ['-j DOCKER-USER', '-j DOCKER-FORWARD', '-j dockvisor-bridges']);
  t.deepEqual(chain('DOCKER-USER'), []);
});

test("a chain a front-end hangs on FORWARD after dockvisor's jump is put before it at the next opening", async (t) => {
  const { access, firewall, chain } = host();
  await firewall.allowWithinBridges(['br-a']);
  access.iptablesChains.set('opennebula', ['-j ACCEPT']);
  chain('FORWARD')!.push(OPENNEBULA_JUMP);
  await firewall.allowWithinBridges(['br-b']);
  t.deepEqual(chain('FORWARD'), ['-j DOCKER-USER', '-j DOCKER-FORWARD', OPENNEBULA_JUMP, '-j dockvisor-bridges']);
});

test('dockerd putting its jumps back at the top leaves the jump last, and copies from concurrent runs become one', async (t) => {
  const { firewall, chain } = host();
  await firewall.allowWithinBridges(['br-a']);
  chain('FORWARD')!.splice(0, 2);
  chain('FORWARD')!.unshift('-j DOCKER-USER', '-j DOCKER-FORWARD');
  chain('FORWARD')!.push('-j dockvisor-bridges');
  await firewall.allowWithinBridges(['br-a']);
  t.deepEqual(chain('FORWARD'), ['-j DOCKER-USER', '-j DOCKER-FORWARD', '-j dockvisor-bridges']);
});

test("an earlier dockvisor's DOCKER-USER rules for a bridge are replaced as it is opened, however many there are", async (t) => {
  const { firewall, chain } = host();
  chain('DOCKER-USER')!.push(within('br-a'), within('br-a'), within('br-other'), '-j RETURN');
  await firewall.allowWithinBridges(['br-a']);
  t.deepEqual(chain('DOCKER-USER'), [within('br-other'), '-j RETURN'], "another bridge's rule waits for that bridge");
  t.deepEqual(chain('dockvisor-bridges'), [within('br-a')]);
});

test('a bridge the front-end filters gets no exception, and loses any it had', async (t) => {
  const { firewall, chain } = host();
  await firewall.allowWithinBridges(['br-sg', 'br-a']);
  chain('DOCKER-USER')!.push(within('br-sg'));
  await firewall.allowWithinBridges(['br-sg'], ['br-sg']);
  t.deepEqual(chain('dockvisor-bridges'), [within('br-a')]);
  t.deepEqual(chain('DOCKER-USER'), []);
});

test('forgetting a bridge takes back its rules, old and new; with bridged traffic unfiltered nothing is made', async (t) => {
  const { firewall, chain } = host();
  await firewall.allowWithinBridges(['br-a']);
  chain('dockvisor-bridges')!.push(within('br-a'));
  chain('DOCKER-USER')!.push(within('br-a'));
  await firewall.forgetBridge('br-a');
  t.deepEqual(chain('dockvisor-bridges'), []);
  t.deepEqual(chain('DOCKER-USER'), []);

  const unfiltered = new MemoryHostAccess();
  unfiltered.files.set('/proc/sys/net/bridge/bridge-nf-call-iptables', '0\n');
  await new BridgeFirewall(unfiltered).allowWithinBridges(['br-a']);
  t.false(unfiltered.iptablesChains.has('dockvisor-bridges'));
});

test('an OpenNebula NIC on a security-group network (VN_MAD fw, 802.1Q, vxlan) opens nothing; one on VN_MAD bridge does', async (t) => {
  const bridges = ['br-fw', 'br-vlan', 'br-vx', 'br-plain'];
  const mem = memoryHost(t, { bridges });
  const nics = [
    { nicId: 0, bridge: 'br-fw', vnMad: 'fw' },
    { nicId: 1, bridge: 'br-vlan', vnMad: '802.1Q' },
    { nicId: 2, bridge: 'br-vx', vnMad: 'vxlan' },
    { nicId: 3, bridge: 'br-plain', vnMad: 'bridge' },
  ];
  t.is(await vmmActions.deploy!(deployArgv(31), vmXml({ id: 31, nics }), mem.services), 'one-31');
  t.deepEqual(mem.access.iptablesChains.get('dockvisor-bridges'), [within('br-plain')]);
});
