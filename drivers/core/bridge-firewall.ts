import type { HostAccess } from './host-access.ts';

/** dockvisor's own chain: one ACCEPT per VM bridge for the traffic that stays on it. */
export const BRIDGES_CHAIN = 'dockvisor-bridges';
const JUMP = ['FORWARD', '-j', BRIDGES_CHAIN];
/** Bounds the removal of a rule that concurrent runs may have added more than once. */
const MAX_COPIES = 64;

/**
 * On a host where Docker runs, bridged frames go through iptables (br_netfilter) and Docker sets the
 * FORWARD policy to DROP, which would cut VMs on the same virtual network off from each other.
 *
 * The exception lives in dockvisor's own chain, jumped to from the end of FORWARD: every chain a front-end
 * hangs on FORWARD (OpenNebula's `opennebula`, which holds its security groups) sees a frame first, and
 * dockerd, which puts its own jumps back at the top whenever it starts, never moves it. An ACCEPT in
 * DOCKER-USER (where dockvisor used to put it) ran before all of those and let every group be bypassed:
 * such rules are taken back as their bridges are opened again.
 *
 * Bridges whose frames the front-end filters itself (OpenNebula's security groups, whose chain ends in
 * ACCEPT) get no exception at all, so that no ordering of the chains' jumps can open them. A network of
 * those drivers without security groups still carries traffic: their `post` puts the chain in place for
 * every NIC, with the default group that lets everything through when the NIC names none.
 */
export class BridgeFirewall {
  constructor(private readonly host: HostAccess) {}

  /** Lets traffic within `bridges` through; on `filtered` bridges the front-end's chains alone decide. */
  async allowWithinBridges(bridges: string[], filtered: string[] = []): Promise<void> {
    const leftToFrontEnd = new Set(filtered);
    const open = [...new Set(bridges)].filter((bridge) => !leftToFrontEnd.has(bridge));
    if ((open.length === 0 && leftToFrontEnd.size === 0) || !(await this.bridgedTrafficIsFiltered())) return;
    // One read of the table decides what to change: a VM's start usually changes nothing here. A concurrent run
    // may add the same rule meanwhile; copies are harmless and taken back together (removeAll, jumpLast).
    const lines = (await this.iptables(['-S'])).split('\n');
    const table = new Set(lines);
    const present = (chain: string, bridge: string) => table.has(`-A ${chain} ${withinBridge(bridge).join(' ')}`);
    if (open.length) {
      if (!table.has(`-N ${BRIDGES_CHAIN}`)) await this.iptables(['-N', BRIDGES_CHAIN]).catch(() => undefined); // or a concurrent run made it
      for (const bridge of open) {
        if (!present(BRIDGES_CHAIN, bridge)) await this.iptables(['-A', BRIDGES_CHAIN, ...withinBridge(bridge)]);
      }
      await this.jumpLast(lines.filter((line) => line.startsWith('-A FORWARD ')));
    }
    for (const bridge of leftToFrontEnd) if (present(BRIDGES_CHAIN, bridge)) await this.removeAll([BRIDGES_CHAIN, ...withinBridge(bridge)]);
    for (const bridge of [...open, ...leftToFrontEnd]) if (present('DOCKER-USER', bridge)) await this.removeAll(['DOCKER-USER', ...withinBridge(bridge)]);
  }

  /** Takes back the rules for a bridge that is going away (and the one an earlier dockvisor put in DOCKER-USER). */
  async forgetBridge(bridge: string): Promise<void> {
    await this.removeAll([BRIDGES_CHAIN, ...withinBridge(bridge)]);
    await this.removeAll(['DOCKER-USER', ...withinBridge(bridge)]);
  }

  /**
   * Makes the jump to dockvisor's chain the last rule of FORWARD (`rules`, as read), and the only one: a copy is appended
   * before the earlier one is deleted (`-D` takes the first match), so intra-bridge traffic is never cut.
   */
  private async jumpLast(rules: string[]): Promise<void> {
    const ours = `-A ${JUMP.join(' ')}`;
    let copies = rules.filter((line) => line === ours).length;
    if (rules.at(-1) !== ours) {
      await this.iptables(['-A', ...JUMP]);
      copies += 1;
    }
    for (; copies > 1; copies -= 1) await this.iptables(['-D', ...JUMP]);
  }

  private async removeAll(rule: string[]): Promise<void> {
    for (let n = 0; n < MAX_COPIES; n += 1) {
      const removed = await this.iptables(['-D', ...rule]).then(
        () => true,
        () => false,
      );
      if (!removed) return;
    }
  }

  private iptables(args: string[]): Promise<string> {
    return this.host.run(['iptables', '-w', ...args], { root: true });
  }

  private async bridgedTrafficIsFiltered(): Promise<boolean> {
    try {
      return (await this.host.readFile('/proc/sys/net/bridge/bridge-nf-call-iptables')).trim() === '1';
    } catch {
      return false;
    }
  }
}

function withinBridge(bridge: string): string[] {
  return ['-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
}
