import { isIPv4, isIPv6 } from 'node:net';
import { printable } from '../../core/validate.ts';
import { text, type XmlNode } from '../xml.ts';

export type NicAddress = { address: string } | { refusal: string } | undefined;

/**
 * The address a VM is reached at: its first NIC's EXTERNAL_IP, else IP, else IP6_GLOBAL. It must be an IP
 * address a host can have, and an IP the NIC leased must lie in the network the VM's context gives that NIC
 * (ETH<n>_NETWORK, ETH<n>_MASK): anything else is refused rather than connected to.
 */
export function nicAddress(nic: XmlNode | undefined, context: XmlNode | undefined): NicAddress {
  if (!nic) return undefined;
  const external = text(nic, 'EXTERNAL_IP');
  const ip = text(nic, 'IP');
  const ip6 = text(nic, 'IP6_GLOBAL');
  const chosen = external ?? ip ?? ip6;
  if (chosen === undefined) return undefined;
  const which = external !== undefined ? 'EXTERNAL_IP' : ip !== undefined ? 'IP' : 'IP6_GLOBAL';
  const refuse = (why: string) => ({ refusal: `the VM's NIC gives ${which} "${printable(chosen)}", ${why}` });
  if (!isIPv4(chosen) && !isIPv6(chosen)) return refuse('which is not an IP address');
  if (!usableUnicast(chosen)) return refuse('which no host can be reached at');
  if (which === 'IP') {
    const prefix = `ETH${text(nic, 'NIC_ID') ?? '0'}_`;
    const network = text(context, `${prefix}NETWORK`);
    const mask = text(context, `${prefix}MASK`);
    if (network && mask && isIPv4(network) && isIPv4(mask) && !sameNetwork(chosen, network, mask)) {
      return refuse(`outside the NIC's network ${network}/${mask}`);
    }
  }
  return { address: chosen };
}

function toNumber(ipv4: string): number {
  return ipv4.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

function sameNetwork(address: string, network: string, mask: string): boolean {
  const bits = toNumber(mask);
  return (toNumber(address) & bits) >>> 0 === (toNumber(network) & bits) >>> 0;
}

function usableUnicast(address: string): boolean {
  if (isIPv4(address)) {
    const first = Number(address.split('.')[0]);
    return first !== 0 && first !== 127 && first < 224;
  }
  const lower = address.toLowerCase();
  return lower !== '::' && lower !== '::1' && !lower.startsWith('ff') && !lower.startsWith('fe80');
}
