import { execFileSync } from 'node:child_process';

/**
 * What Neutron's OVS agent installs on a compute host for a port with the iptables hybrid firewall
 * (neutron/agent/linux/iptables_firewall.py, OVSHybridIptablesFirewallDriver): its `neutron-openvswi-*` chains
 * jumped to from the top of FORWARD and INPUT, per-port chains matched with physdev on the port's tap device in
 * its qbr bridge, a spoofing chain, the fallback DROP, and the conntrack zone of the port in the raw table.
 * The group here lets in ICMP and TCP to `openPort`, and every egress, as a typical security group does.
 */
export interface HybridPort {
  portId: string;
  ip: string;
  mac: string;
  openPort: number;
  zone: number;
}

const WRAP = 'neutron-openvswi';

function iptables(table: 'filter' | 'raw', ...args: string[]): void {
  execFileSync('iptables', ['-w', '-t', table, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function names(port: HybridPort) {
  const device = port.portId;
  return {
    tap: `tap${device}`.slice(0, 14),
    qvb: `qvb${device}`.slice(0, 14),
    ingress: `${WRAP}-i${device.slice(0, 10)}`,
    egress: `${WRAP}-o${device.slice(0, 10)}`,
    spoof: `${WRAP}-s${device.slice(0, 10)}`,
  };
}

export function installHybridFirewall(port: HybridPort): void {
  removeHybridFirewall(port);
  const { tap, qvb, ingress, egress, spoof } = names(port);
  const bridged = (direction: 'in' | 'out') => ['-m', 'physdev', `--physdev-${direction}`, tap, '--physdev-is-bridged'];
  for (const chain of [
    'neutron-filter-top',
    `${WRAP}-FORWARD`,
    `${WRAP}-INPUT`,
    `${WRAP}-local`,
    `${WRAP}-sg-chain`,
    `${WRAP}-sg-fallback`,
    ingress,
    egress,
    spoof,
  ]) {
    iptables('filter', '-N', chain);
  }
  iptables('filter', '-I', 'FORWARD', '1', '-j', 'neutron-filter-top');
  iptables('filter', '-I', 'FORWARD', '2', '-j', `${WRAP}-FORWARD`);
  iptables('filter', '-I', 'INPUT', '1', '-j', `${WRAP}-INPUT`);
  iptables('filter', '-A', 'neutron-filter-top', '-j', `${WRAP}-local`);
  iptables('filter', '-A', `${WRAP}-FORWARD`, ...bridged('out'), '-j', `${WRAP}-sg-chain`);
  iptables('filter', '-A', `${WRAP}-FORWARD`, ...bridged('in'), '-j', `${WRAP}-sg-chain`);
  iptables('filter', '-A', `${WRAP}-INPUT`, ...bridged('in'), '-j', egress);
  iptables('filter', '-A', `${WRAP}-sg-chain`, ...bridged('out'), '-j', ingress);
  iptables('filter', '-A', `${WRAP}-sg-chain`, ...bridged('in'), '-j', egress);
  iptables('filter', '-A', `${WRAP}-sg-chain`, '-j', 'ACCEPT');
  iptables('filter', '-A', ingress, '-m', 'state', '--state', 'RELATED,ESTABLISHED', '-j', 'RETURN');
  iptables('filter', '-A', ingress, '-p', 'icmp', '-j', 'RETURN');
  iptables('filter', '-A', ingress, '-p', 'tcp', '-m', 'tcp', '--dport', String(port.openPort), '-j', 'RETURN');
  iptables('filter', '-A', ingress, '-m', 'state', '--state', 'INVALID', '-j', 'DROP');
  iptables('filter', '-A', ingress, '-j', `${WRAP}-sg-fallback`);
  iptables('filter', '-A', egress, '-s', '0.0.0.0/32', '-d', '255.255.255.255/32', '-p', 'udp', '-m', 'udp', '--sport', '68', '--dport', '67', '-j', 'RETURN');
  iptables('filter', '-A', egress, '-j', spoof);
  iptables('filter', '-A', egress, '-p', 'udp', '-m', 'udp', '--sport', '68', '--dport', '67', '-j', 'RETURN');
  iptables('filter', '-A', egress, '-p', 'udp', '-m', 'udp', '--sport', '67', '--dport', '68', '-j', 'DROP');
  iptables('filter', '-A', egress, '-m', 'state', '--state', 'RELATED,ESTABLISHED', '-j', 'RETURN');
  iptables('filter', '-A', egress, '-j', 'RETURN');
  iptables('filter', '-A', egress, '-m', 'state', '--state', 'INVALID', '-j', 'DROP');
  iptables('filter', '-A', egress, '-j', `${WRAP}-sg-fallback`);
  iptables('filter', '-A', spoof, '-s', `${port.ip}/32`, '-m', 'mac', '--mac-source', port.mac, '-j', 'RETURN');
  iptables('filter', '-A', spoof, '-j', 'DROP');
  iptables('filter', '-A', `${WRAP}-sg-fallback`, '-j', 'DROP');
  iptables('raw', '-N', `${WRAP}-PREROUTING`);
  iptables('raw', '-I', 'PREROUTING', '1', '-j', `${WRAP}-PREROUTING`);
  const zone = ['-j', 'CT', '--zone', String(port.zone)];
  iptables('raw', '-A', `${WRAP}-PREROUTING`, '-m', 'physdev', '--physdev-in', qvb, ...zone);
  iptables('raw', '-A', `${WRAP}-PREROUTING`, '-i', qvb, ...zone);
  iptables('raw', '-A', `${WRAP}-PREROUTING`, '-m', 'physdev', '--physdev-in', tap, ...zone);
}

export function removeHybridFirewall(port: HybridPort): void {
  const quietly = (table: 'filter' | 'raw', ...args: string[]) => {
    try {
      iptables(table, ...args);
    } catch {
      // not there
    }
  };
  const { ingress, egress, spoof } = names(port);
  quietly('filter', '-D', 'FORWARD', '-j', 'neutron-filter-top');
  quietly('filter', '-D', 'FORWARD', '-j', `${WRAP}-FORWARD`);
  quietly('filter', '-D', 'INPUT', '-j', `${WRAP}-INPUT`);
  quietly('raw', '-D', 'PREROUTING', '-j', `${WRAP}-PREROUTING`);
  const chains = ['neutron-filter-top', `${WRAP}-FORWARD`, `${WRAP}-INPUT`, `${WRAP}-local`, `${WRAP}-sg-chain`, ingress, egress, spoof, `${WRAP}-sg-fallback`];
  for (const chain of chains) quietly('filter', '-F', chain);
  for (const chain of chains) quietly('filter', '-X', chain);
  quietly('raw', '-F', `${WRAP}-PREROUTING`);
  quietly('raw', '-X', `${WRAP}-PREROUTING`);
}

/**
 * What dockerd does to FORWARD when it starts again: its chains' jumps go back to the top, DOCKER-USER first,
 * above whatever others (Neutron's here) put there meanwhile.
 */
export function simulateEngineRestart(): void {
  for (const chain of ['DOCKER-ISOLATION-STAGE-1', 'DOCKER-USER']) {
    try {
      iptables('filter', '-D', 'FORWARD', '-j', chain);
    } catch {
      // this engine has no such jump
    }
    iptables('filter', '-I', 'FORWARD', '1', '-j', chain);
  }
}
