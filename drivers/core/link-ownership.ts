import type { HostLink } from './host-links.ts';
import type { VmSpec } from './vm-spec.ts';

/**
 * Names of host links come from the front-ends' users (OpenNebula keeps a NIC TARGET the template sets,
 * Nova takes `devname` from the port), so a name proves nothing. A link dockvisor makes for a VM
 * carries that VM in its alias from the moment it exists (the same `ip -batch` that adds it), and
 * dockvisor deletes or reuses only links whose alias names the VM it acts for.
 */
export type LinkOwner = string;

export function linkOwner(spec: Pick<VmSpec, 'frontEnd' | 'vmId'>): LinkOwner {
  return `dockvisor:${spec.frontEnd}:${spec.vmId}`;
}

export function ownedBy(link: HostLink | undefined, owner: LinkOwner): boolean {
  return link !== undefined && link.alias === owner;
}

/** A veth whose other end is inside the VM's network namespace is the VM's, alias or not (made before aliases were set). */
export function pairedWithin(link: HostLink, inside: Map<string, HostLink>): boolean {
  for (const peer of inside.values()) if (peer.index === link.peerIndex && peer.peerIndex === link.index) return true;
  return false;
}
