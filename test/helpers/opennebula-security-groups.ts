/**
 * What OpenNebula's security-group driver leaves in a host's iptables for a VM's NICs, made the same way: the
 * `post` and `clean` of VN_MAD `fw` (802.1Q and vxlan run the same code). Written from OpenNebula 7.4.0's
 * src/vnm_mad/remotes/lib: sg_driver.rb (SGDriver#activate, #deactivate), security_groups_iptables.rb
 * (SGIPTables.global_bootstrap, .nic_pre, .nic_post, .nic_deactivate; RuleIPTables#process_protocol,
 * #process_portrange) and security_groups.rb (Rule#set_type), for bridged NICs and IPv4.
 *
 * Left out, as no test here needs them: ip6tables (the same rules again), rules limited to a network (ipsets),
 * ICMP types, the MAC and IP spoofing filters, NIC aliases, and the driver's lock file.
 */

/** A SECURITY_GROUP_RULE as oned copies it into the VM document. */
export interface SecurityGroupRule {
  securityGroupId: number;
  protocol: 'TCP' | 'UDP' | 'ALL';
  ruleType: 'inbound' | 'outbound';
  /** iptables multiport syntax: `22`, `80,443`, `7000:7010`. */
  range?: string;
}

/** A NIC of a VM as the driver sees it: `tap` is its host interface (a KVM tap; a dockvisor VM's NIC/TARGET). */
export interface FilteredNic {
  vmId: number;
  nicId: number;
  tap: string;
  rules: SecurityGroupRule[];
}

/** The host the rules go to: its iptables (argv after `iptables`, returning stdout) and its interfaces. */
export interface SecurityGroupHost {
  iptables(args: string[]): string;
  hasInterface(name: string): boolean;
}

export const GLOBAL_CHAIN = 'opennebula';

/** The `vars` of security_groups_iptables.rb: the NIC's chains, one-<vid>-<nic>-i (to the VM) and -o (from it). */
export function nicChains(nic: Pick<FilteredNic, 'vmId' | 'nicId'>): { chain: string; chainIn: string; chainOut: string } {
  const chain = `one-${nic.vmId}-${nic.nicId}`;
  return { chain, chainIn: `${chain}-i`, chainOut: `${chain}-o` };
}

export class OpenNebulaSecurityGroups {
  constructor(private readonly host: SecurityGroupHost) {}

  /** The `post` of the fw driver: what an earlier run left is taken away first, then the chains are made again. */
  activate(nics: FilteredNic[]): void {
    this.deactivate(nics);
    this.globalBootstrap();
    for (const nic of nics) {
      try {
        this.nicPre(nic);
        for (const [, rules] of groupsOf(nic.rules)) {
          // Each group's commands are made unique before they run (SecurityGroup#process_rules).
          for (const args of new Map(rules.map((rule) => ruleArgs(nic, rule)).map((args) => [args.join(' '), args])).values()) this.host.iptables(args);
        }
        this.nicPost(nic);
      } catch (error) {
        this.deactivate(nics);
        throw error;
      }
    }
  }

  /** The `clean` of the fw driver: the NICs' jumps, from the global chain and INPUT, and their chains. */
  deactivate(nics: FilteredNic[]): void {
    for (const nic of nics) this.nicDeactivate(nic);
  }

  /**
   * Once a host: the global chain, jumped to for every bridged frame from the end of FORWARD, ending in ACCEPT.
   * With no group on a NIC the driver applies the default one, which lets everything through: this is all a
   * network without groups amounts to.
   */
  globalBootstrap(): void {
    if (this.hasGlobalChain()) return;
    this.host.iptables(['-N', GLOBAL_CHAIN]);
    this.host.iptables(['-A', 'FORWARD', '-m', 'physdev', '--physdev-is-bridged', '-j', GLOBAL_CHAIN]);
    this.host.iptables(['-A', GLOBAL_CHAIN, '-j', 'ACCEPT']);
  }

  private nicPre(nic: FilteredNic): void {
    const { chainIn, chainOut } = nicChains(nic);
    this.host.iptables(['-N', chainIn]);
    this.host.iptables(['-N', chainOut]);
    // OpenNebula waits up to 3 s for the interface; here it is there or not.
    if (!this.host.hasInterface(nic.tap)) throw new Error(`Interface ${nic.tap} not available to apply SG rules`);
    const bridged = ['-m', 'physdev', '--physdev-is-bridged'];
    this.host.iptables(['-I', GLOBAL_CHAIN, ...bridged, '--physdev-out', nic.tap, '-j', chainIn]);
    this.host.iptables(['-I', GLOBAL_CHAIN, ...bridged, '--physdev-in', nic.tap, '-j', chainOut]);
    this.host.iptables(['-I', 'INPUT', '-m', 'physdev', '--physdev-in', nic.tap, '-j', chainOut]);
    for (const chain of [chainIn, chainOut]) this.host.iptables(['-A', chain, '-m', 'state', '--state', 'ESTABLISHED,RELATED', '-j', 'RETURN']);
  }

  private nicPost(nic: FilteredNic): void {
    const { chainIn, chainOut } = nicChains(nic);
    this.host.iptables(['-A', chainIn, '-j', 'DROP']);
    this.host.iptables(['-A', chainOut, '-j', 'DROP']);
  }

  private nicDeactivate(nic: FilteredNic): void {
    const { chain, chainIn, chainOut } = nicChains(nic);
    const listing = this.host.iptables(['-S']);
    if (this.hasGlobalChain(listing)) {
      // Jumps are deleted by number, highest first, so the numbers still to delete stay right.
      for (const table of [GLOBAL_CHAIN, 'INPUT']) {
        for (const line of this.host.iptables(['-n', '-L', table, '--line-numbers']).split('\n').reverse()) {
          const [number, target] = line.trim().split(/\s+/);
          if (target === chainIn || target === chainOut) this.host.iptables(['-D', table, number!]);
        }
      }
    }
    const chains = listing
      .split('\n')
      .filter((line) => new RegExp(`^-N ${chain}(-|$)`).test(line))
      .map((line) => line.split(' ')[1]!);
    for (const name of chains) this.host.iptables(['-F', name]);
    for (const name of chains) this.host.iptables(['-X', name]);
  }

  private hasGlobalChain(listing = this.host.iptables(['-S'])): boolean {
    return listing.split('\n').includes(`-N ${GLOBAL_CHAIN}`);
  }
}

/** The rules by security group, in the order oned lists them. */
function groupsOf(rules: SecurityGroupRule[]): Map<number, SecurityGroupRule[]> {
  const groups = new Map<number, SecurityGroupRule[]>();
  for (const rule of rules) groups.set(rule.securityGroupId, [...(groups.get(rule.securityGroupId) ?? []), rule]);
  return groups;
}

/** A whole protocol (`-p all` for ALL), or ports of it with multiport; each lets the frame on (RETURN) to the next chain. */
function ruleArgs(nic: FilteredNic, rule: SecurityGroupRule): string[] {
  const { chainIn, chainOut } = nicChains(nic);
  const chain = rule.ruleType === 'inbound' ? chainIn : chainOut;
  const protocol = rule.protocol.toLowerCase();
  if (rule.range === undefined) return ['-A', chain, '-p', protocol, '-j', 'RETURN'];
  return ['-A', chain, '-p', protocol, '-m', 'multiport', '--dports', rule.range, '-j', 'RETURN'];
}

/** The rules as they appear in a VM document's TEMPLATE, for the dockvisor VM oned would deploy with them. */
export function securityGroupRulesXml(rules: SecurityGroupRule[]): string {
  return rules
    .map(
      (rule) =>
        '<SECURITY_GROUP_RULE>' +
        `<PROTOCOL>${rule.protocol}</PROTOCOL>` +
        (rule.range === undefined ? '' : `<RANGE>${rule.range}</RANGE>`) +
        `<RULE_TYPE>${rule.ruleType}</RULE_TYPE>` +
        `<SECURITY_GROUP_ID>${rule.securityGroupId}</SECURITY_GROUP_ID>` +
        '</SECURITY_GROUP_RULE>',
    )
    .join('');
}
