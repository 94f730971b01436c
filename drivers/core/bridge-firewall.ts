import { readFileSync } from 'node:fs';
import type { CommandRunner } from './command-runner.ts';

/**
 * On a host where Docker runs, bridged frames go through iptables (br_netfilter) and Docker sets the
 * FORWARD policy to DROP, which would cut VMs on the same virtual network off from each other.
 * Docker's documented place for exceptions is the DOCKER-USER chain: one rule per VM bridge lets
 * traffic that stays on that bridge through, as it would without Docker. Nothing else is opened.
 */
export class BridgeFirewall {
  constructor(private readonly commands: CommandRunner) {}

  async allowWithinBridges(bridges: string[]): Promise<void> {
    if (!bridgedTrafficIsFiltered()) return;
    for (const bridge of new Set(bridges)) {
      const rule = ['DOCKER-USER', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
      const present = await this.commands.asRoot(['iptables', '-w', '-C', ...rule]).then(
        () => true,
        () => false,
      );
      if (!present && (await this.hasDockerUserChain())) await this.commands.asRoot(['iptables', '-w', '-I', ...rule]);
    }
  }

  /** Takes back the rule for a bridge that is going away. */
  async forgetBridge(bridge: string): Promise<void> {
    await this.commands.asRoot(['iptables', '-w', '-D', 'DOCKER-USER', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']).catch(() => undefined);
  }

  private hasDockerUserChain(): Promise<boolean> {
    return this.commands.asRoot(['iptables', '-w', '-n', '-L', 'DOCKER-USER']).then(
      () => true,
      () => false,
    );
  }
}

function bridgedTrafficIsFiltered(): boolean {
  try {
    return readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
