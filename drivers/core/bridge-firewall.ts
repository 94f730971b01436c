import type { HostAccess } from './host-access.ts';

/**
 * On a host where Docker runs, bridged frames go through iptables (br_netfilter) and Docker sets the
 * FORWARD policy to DROP, which would cut VMs on the same virtual network off from each other.
 * Docker's documented place for exceptions is the DOCKER-USER chain: one rule per VM bridge lets
 * traffic that stays on that bridge through, as it would without Docker. Nothing else is opened.
 */
export class BridgeFirewall {
  constructor(private readonly host: HostAccess) {}

  async allowWithinBridges(bridges: string[]): Promise<void> {
    if (bridges.length === 0 || !(await this.bridgedTrafficIsFiltered())) return;
    for (const bridge of new Set(bridges)) {
      const rule = ['DOCKER-USER', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
      const present = await this.iptables(['-C', ...rule]).then(
        () => true,
        () => false,
      );
      if (!present && (await this.hasDockerUserChain())) await this.iptables(['-I', ...rule]);
    }
  }

  /** Takes back the rule for a bridge that is going away. */
  async forgetBridge(bridge: string): Promise<void> {
    await this.iptables(['-D', 'DOCKER-USER', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']).catch(() => undefined);
  }

  private hasDockerUserChain(): Promise<boolean> {
    return this.iptables(['-n', '-L', 'DOCKER-USER']).then(
      () => true,
      () => false,
    );
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
