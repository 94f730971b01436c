import { execFileSync } from 'node:child_process';
import type { SecurityGroupHost } from './opennebula-security-groups.ts';

/**
 * What OpenNebula's network drivers leave on a KVM or dockvisor host (src/vnm_mad/remotes in OpenNebula/one), made
 * by hand inside a test host's network namespace: the drivers themselves are Ruby and need oned's documents.
 */

export interface VxlanNetwork {
  bridge: string;
  phydev: string;
  /** The network's VLAN_ID: the VNI, and the offset of the multicast group from `:vxlan_mc`. */
  vlanId: number;
  mtu: number;
}

/** `:vxlan_mc` of OpenNebulaNetwork.conf, the driver's default. */
const VXLAN_MULTICAST_BASE = [239, 0, 0, 0];

/** The link the vxlan driver names `<PHYDEV>.<VLAN_ID>`. */
export const vxlanLink = (network: VxlanNetwork) => `${network.phydev}.${network.vlanId}`;

/** The multicast group of the network: `:vxlan_mc` plus VLAN_ID, in multicast mode (the default). */
export function vxlanGroup(vlanId: number): string {
  const base = VXLAN_MULTICAST_BASE.reduce((sum, octet) => sum * 256 + octet, 0) + vlanId;
  return [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join('.');
}

/** What the vxlan driver's `pre` leaves: the bridge, and the VXLAN link on PHYDEV in it, up. */
export function vxlanPre(netns: string, network: VxlanNetwork): void {
  const link = vxlanLink(network);
  inNetns(netns, 'ip', 'link', 'add', network.bridge, 'type', 'bridge');
  inNetns(netns, 'ip', 'link', 'set', network.bridge, 'up');
  // The kernel's own UDP port (8472) unless dstport is given, as the driver leaves it.
  inNetns(
    netns,
    'ip',
    'link',
    'add',
    link,
    'mtu',
    String(network.mtu),
    'type',
    'vxlan',
    'id',
    String(network.vlanId),
    'group',
    vxlanGroup(network.vlanId),
    'dev',
    network.phydev,
  );
  inNetns(netns, 'ip', 'link', 'set', link, 'up');
  inNetns(netns, 'ip', 'link', 'set', link, 'master', network.bridge);
}

export function iptables(netns: string, ...args: string[]): string {
  return inNetns(netns, 'iptables', '-w', ...args);
}

/** A test host's namespace as the security-group driver's host. */
export function netnsSecurityGroupHost(netns: string): SecurityGroupHost {
  return {
    iptables: (args) => iptables(netns, ...args),
    hasInterface: (name) =>
      inNetns(netns, 'ip', '-o', 'link', 'show').includes(` ${name}:`) || inNetns(netns, 'ip', '-o', 'link', 'show').includes(` ${name}@`),
  };
}

function inNetns(netns: string, ...command: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, ...command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}
