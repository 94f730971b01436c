import { InvalidInputError } from '../core/errors.ts';
import * as check from '../core/validate.ts';
import type { NicAddress, NicSpec } from '../core/vm-spec.ts';
import { children, text, type XmlNode } from './xml.ts';

/** The addresses of a NIC or of a NIC alias, from its element and its context variables. */
export interface OneAddresses {
  ipv4: NicAddress[];
  ipv6: NicAddress[];
}

/** A context variable of the NIC or alias (ETH<n>_<key> or ETH<n>_ALIAS<m>_<key>). */
export type ContextOf = (key: string) => string | undefined;

/**
 * What the context package configures from a NIC's or alias's variables: IP with MASK (/24 without one), IP6 (the
 * NIC's IP6_GLOBAL or IP6) with IP6_PREFIX_LENGTH (/64 without one), IP6_ULA as a /64. The NIC's own attributes
 * stand in for variables a VM without network context lacks.
 */
export function readAddresses(node: XmlNode, ctx: ContextOf, where: string): OneAddresses {
  // Every candidate is read before one is chosen, so that one given twice is refused even where another wins.
  const field = (key: string) => text(node, key, where);
  const ip = firstOf(field('IP'), ctx('IP'));
  const mask = firstOf(ctx('MASK'), field('NETWORK_MASK'), field('MASK'));
  const ip6 = [firstOf(field('IP6'), ctx('IP6')), field('IP6_GLOBAL')];
  const ula = firstOf(field('IP6_ULA'), ctx('IP6_ULA'));
  const prefix6Text = firstOf(ctx('IP6_PREFIX_LENGTH'), field('PREFIX_LENGTH'), field('IP6_PREFIX_LENGTH'));
  const prefix6 = prefix6Text
    ? check.prefixLength(check.nonNegativeInteger(prefix6Text, `${where}IP6_PREFIX_LENGTH`, 128), 6, `${where}IP6_PREFIX_LENGTH`)
    : 64;
  const ipv6 = [...new Set(ip6.filter((a): a is string => !!a))].map((a) => ({ address: check.ipv6(a, `${where}IP6`), prefixLength: prefix6 }));
  if (ula && !ipv6.some((a) => a.address === ula)) ipv6.push({ address: check.ipv6(ula, `${where}IP6_ULA`), prefixLength: 64 });
  return {
    ipv4: ip ? [{ address: check.ipv4(ip, `${where}IP`), prefixLength: mask ? maskToPrefix(mask, where) : 24 }] : [],
    ipv6,
  };
}

/**
 * Each NIC_ALIAS's addresses, added to its parent NIC's (PARENT_ID, or PARENT naming the NIC's NAME), as the
 * context package adds them to the parent's interface. Left out, as the context package leaves them: an EXTERNAL
 * alias (its address lives outside the VM) and one being detached (ATTACH=YES while its variables are gone from
 * a network context that has the parent's).
 */
export function withAliases(template: XmlNode, context: XmlNode | undefined, vmId: number, nicNodes: XmlNode[], nics: NicSpec[]): NicSpec[] {
  const aliases = children(template, 'NIC_ALIAS', `VM ${vmId} `);
  if (aliases.length === 0) return nics;
  const byName = new Map<string, number>();
  nicNodes.forEach((node, i) => {
    const name = text(node, 'NAME');
    if (name) byName.set(name, nics[i]!.nicId);
  });
  const extra = new Map<number, OneAddresses>();
  for (const alias of aliases) {
    const aliasNic = text(alias, 'NIC_ID') ?? '?';
    const where = `VM ${vmId} NIC_ALIAS ${check.printable(aliasNic)}: `;
    const parentId = aliasParent(alias, byName, where);
    if (!nics.some((nic) => nic.nicId === parentId)) throw new InvalidInputError(`${where}its parent NIC ${parentId} is not a NIC of the VM`);
    const aliasIdText = text(alias, 'ALIAS_ID', where);
    const aliasId = aliasIdText === undefined ? undefined : check.nonNegativeInteger(aliasIdText, `${where}ALIAS_ID`, 9999);
    const ctx: ContextOf = (key) => (aliasId === undefined ? undefined : text(context, `ETH${parentId}_ALIAS${aliasId}_${key}`, where));
    const addresses = readAddresses(alias, ctx, where);
    const external = [text(alias, 'EXTERNAL', where), ctx('EXTERNAL')].some((value) => value?.toUpperCase() === 'YES');
    const detaching = text(alias, 'ATTACH', where) === 'YES' && text(context, `ETH${parentId}_MAC`, where) !== undefined && ctx('MAC') === undefined;
    if (external || detaching || ctx('DETACH')) continue;
    const sum = extra.get(parentId) ?? { ipv4: [], ipv6: [] };
    extra.set(parentId, { ipv4: [...sum.ipv4, ...addresses.ipv4], ipv6: [...sum.ipv6, ...addresses.ipv6] });
  }
  return nics.map((nic) => {
    const more = extra.get(nic.nicId);
    return more ? { ...nic, ipv4: unique([...nic.ipv4, ...more.ipv4]), ipv6: unique([...nic.ipv6, ...more.ipv6]) } : nic;
  });
}

function aliasParent(alias: XmlNode, byName: Map<string, number>, where: string): number {
  const parentId = text(alias, 'PARENT_ID', where);
  if (parentId !== undefined) return check.nonNegativeInteger(parentId, `${where}PARENT_ID`, 9999);
  const parent = text(alias, 'PARENT', where);
  if (parent === undefined) throw new InvalidInputError(`${where}PARENT is missing`);
  const id = byName.get(parent);
  if (id === undefined) throw new InvalidInputError(`${where}PARENT "${check.printable(parent)}" is not the NAME of a NIC of the VM`);
  return id;
}

function unique(addresses: NicAddress[]): NicAddress[] {
  return [...new Map(addresses.map((a) => [a.address, a])).values()];
}

export function maskToPrefix(mask: string, where: string): number {
  if (/^[0-9]{1,2}$/.test(mask)) return check.prefixLength(Number(mask), 4, `${where}MASK`);
  check.ipv4(mask, `${where}MASK`);
  const bits = mask
    .split('.')
    .map((octet) => Number(octet).toString(2).padStart(8, '0'))
    .join('');
  if (!/^1*0*$/.test(bits)) throw new InvalidInputError(`${where}MASK ${mask} is not a contiguous netmask`);
  return check.prefixLength(bits.indexOf('0') === -1 ? 32 : bits.indexOf('0'), 4, `${where}MASK`);
}

/** The first value given. Unlike the operands of `??`, arguments are all evaluated: every candidate has been read. */
export function firstOf(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => value !== undefined);
}
