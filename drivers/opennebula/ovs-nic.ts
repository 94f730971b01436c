import { InvalidInputError } from '../core/errors.ts';
import * as check from '../core/validate.ts';
import type { OvsPortSpec } from '../core/vm-spec.ts';

/** The most VLANs a list may name: every id there is. */
const MAX_VLANS = 4096;

/**
 * What OpenNebula's Open vSwitch drivers (VN_MAD ovswitch and ovswitch_vxlan) set on a NIC's port, from the
 * NIC's attributes: VLAN_ID as the port's tag, VLAN_TAGGED_ID as its trunks, the VLAN mode that goes with them,
 * and for QinQ (CVLANS with a VLAN_ID) a dot1q-tunnel port with its customer VLANs and outer ethertype.
 */
export function ovsPort(field: (key: string) => string | undefined, where: string): OvsPortSpec {
  const tagText = field('VLAN_ID');
  const tag = tagText === undefined ? undefined : check.wholeNumber(tagText, `${where}VLAN_ID`, 0, 4095);
  const trunks = vlanList(field('VLAN_TAGGED_ID'), `${where}VLAN_TAGGED_ID`);
  const cvlans = vlanList(field('CVLANS'), `${where}CVLANS`);
  const qinqType = field('QINQ_TYPE');
  if (qinqType !== undefined && qinqType !== '802.1q' && qinqType !== '802.1ad') {
    throw new InvalidInputError(`${where}QINQ_TYPE "${check.printable(qinqType)}" is not 802.1q or 802.1ad`);
  }
  if (tag !== undefined && cvlans.length) {
    return { tag, trunks, vlanMode: 'dot1q-tunnel', cvlans, qinqEthertype: qinqType ?? '802.1q' };
  }
  return { tag, trunks, vlanMode: tag === undefined ? 'trunk' : 'native-untagged' };
}

/** A VLAN list as OpenNebula writes it (`100,200-205`), expanded; empty when not given. */
export function vlanList(value: string | undefined, what: string): number[] {
  if (value === undefined) return [];
  if (!/^[0-9]{1,4}(\s*[,-]\s*[0-9]{1,4}){0,4095}$/.test(value)) {
    throw new InvalidInputError(`${what} "${check.printable(value)}" is not a list of VLAN ids and ranges (e.g. 100,200-205)`);
  }
  const ids = new Set<number>();
  for (const item of value.split(',')) {
    const [low, high = low] = item.split('-').map((bound) => check.wholeNumber(bound.trim(), what, 0, 4095));
    for (let id = Math.min(low!, high!); id <= Math.max(low!, high!); id++) ids.add(id);
  }
  if (ids.size > MAX_VLANS) throw new InvalidInputError(`${what} names more than ${MAX_VLANS} VLANs`);
  return [...ids].sort((a, b) => a - b);
}
