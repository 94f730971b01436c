import { InvalidInputError } from '../core/errors.ts';
import * as check from '../core/validate.ts';
import type { OvsPortSpec } from '../core/vm-spec.ts';
import type { VifRequest } from './api-schemas.ts';

/** Nova's VIF types the service plugs: a Linux bridge (`bridge`) or an Open vSwitch port (`ovs`). */
export const VIF_TYPES = ['bridge', 'ovs'] as const;
export type VifType = (typeof VIF_TYPES)[number];

/** Nova's names are cut at 14 characters (os-vif's NIC_NAME_LEN). */
const NIC_NAME_LEN = 14;

export function vifType(vif: VifRequest, where: string): VifType {
  const type = vif.type ?? 'bridge';
  if (!(VIF_TYPES as readonly string[]).includes(type)) {
    throw new InvalidInputError(`${where}VIF type "${check.printable(type)}" is not supported by dockvisor (${VIF_TYPES.join(' or ')})`);
  }
  return type as VifType;
}

/**
 * An `ovs` VIF's port as os-vif plugs it for libvirt: the external_ids Neutron's agent finds the port by,
 * and with `ovs_hybrid_plug` a Linux bridge qbr<id> of its own, joined to the switch by the veth pair qvb<id>/qvo<id>.
 */
export function ovsVifPort(vif: VifRequest, mac: string, instanceUuid: string | undefined): OvsPortSpec {
  const interfaceIds: Record<string, string> = { 'iface-id': vif.ovs_interfaceid ?? vif.id, 'iface-status': 'active', 'attached-mac': mac };
  if (instanceUuid) interfaceIds['vm-uuid'] = instanceUuid;
  return vif.details?.ovs_hybrid_plug ? { interfaceIds, hybrid: hybridNames(vif.id) } : { interfaceIds };
}

/** The hybrid plug's links for a VIF id, as os-vif and Nova name them. */
export function hybridNames(vifId: string): NonNullable<OvsPortSpec['hybrid']> {
  const name = (prefix: string) => check.interfaceName(`${prefix}${vifId}`.slice(0, NIC_NAME_LEN), `VIF ${vifId}: ${prefix} device`);
  return { linuxBridge: name('qbr'), bridgeEnd: name('qvb'), switchEnd: name('qvo') };
}
