import { isIPv4 } from 'node:net';
import { InvalidInputError } from '../core/errors.ts';
import * as check from '../core/validate.ts';
import type { NicSpec } from '../core/vm-spec.ts';
import type { VifRequest } from './api-schemas.ts';
import { ovsVifPort, vifType } from './ovs-vifs.ts';

/**
 * A Nova VIF as a core NIC: the host end (tap<port id[:11]>, as Nova names it) in the VIF's bridge, eth<nicId>
 * inside; an `ovs` VIF's port carries the instance's uuid as os-vif's `vm-uuid`.
 */
export function vifNic(vif: VifRequest, nicId: number, instanceUuid?: string): NicSpec {
  const where = `VIF ${vif.id}: `;
  const type = vifType(vif, where);
  const mac = check.macAddress(vif.address, `${where}address`);
  const address = (ip: VifRequest['ips'][number]) => {
    const family = isIPv4(ip.address) ? 4 : 6;
    const what = `${where}IP`;
    return {
      address: family === 4 ? check.ipv4(ip.address, what) : check.ipv6(ip.address, what),
      prefixLength: check.prefixLength(ip.prefix, family, `${where}prefix of ${check.printable(ip.address)}`),
    };
  };
  return {
    nicId,
    hostInterface: check.interfaceName(vif.devname ?? `tap${vif.id.slice(0, 11)}`, `${where}devname`),
    bridge: check.interfaceName(vif.bridge, `${where}bridge`),
    bridgeType: type === 'ovs' || vif.bridge_type === 'openvswitch' ? 'openvswitch' : 'linux',
    mac,
    ipv4: vif.ips.filter((ip) => isIPv4(ip.address)).map(address),
    gateway: vif.gateway === undefined ? undefined : check.ipv4(vif.gateway, `${where}gateway`),
    ipv6: vif.ips.filter((ip) => !isIPv4(ip.address)).map(address),
    gateway6: vif.gateway6 === undefined ? undefined : check.ipv6(vif.gateway6, `${where}gateway6`),
    routes: (vif.routes ?? []).map((route) => check.route(route.destination, route.gateway, `${where}route`)),
    mtu: vif.mtu,
    dns: vif.dns.map((server) => check.ipAddress(server, `${where}DNS server`)),
    searchDomains: (vif.search_domains ?? []).map((domain) => check.hostname(domain, `${where}search domain`)),
    ...(type === 'ovs' ? { ovs: ovsVifPort(vif, mac, instanceUuid) } : {}),
  };
}

/** The instance's VIFs in order: VIF n is eth<n>. Two VIFs may not share a host end or a MAC. */
export function networkNics(networkInfo: VifRequest[], instanceUuid?: string): NicSpec[] {
  const nics = networkInfo.map((vif, index) => vifNic(vif, index, instanceUuid));
  for (const key of ['hostInterface', 'mac'] as const) {
    const seen = new Set<string>();
    for (const nic of nics) {
      if (seen.has(nic[key])) throw new InvalidInputError(`network_info: two VIFs have the same ${key === 'mac' ? 'MAC address' : 'devname'} ${nic[key]}`);
      seen.add(nic[key]);
    }
  }
  return nics;
}
