import type { VmRef } from './vm-status.ts';

/** The container-as-VM model: what a front-end asks for, in dockvisor's own terms. */

export interface NicSpec {
  /** The front-end's NIC index; the interface inside the container is eth<nicId>. */
  nicId: number;
  /** Host end of the veth pair, plugged into `bridge` (OpenNebula's NIC/TARGET, e.g. one-7-0). */
  hostInterface: string;
  bridge: string;
  bridgeType: 'linux' | 'openvswitch';
  mac: string;
  /** Every IPv4 address of the NIC inside the container, the lease's first (an OpenNebula NIC_ALIAS adds its own). */
  ipv4: NicAddress[];
  gateway?: string;
  ipv6: NicAddress[];
  gateway6?: string;
  /** Routes the NIC's network gives besides the default ones (OpenNebula ROUTES, a Neutron subnet's host routes). */
  routes: NicRoute[];
  mtu?: number;
  /** The front-end filters the NIC's bridged traffic on the host itself (OpenNebula's security groups): dockvisor opens nothing for it. */
  filteredByFrontEnd?: boolean;
  /** Limits on the host end, as libvirt sets a KVM guest's <bandwidth>; none when undefined. */
  bandwidth?: NicBandwidth;
  dns: string[];
  searchDomains: string[];
  /** On an Open vSwitch bridge: what the front-end asks of the port. */
  ovs?: OvsPortSpec;
}

/** An Open vSwitch port as a front-end asks for it (bridgeType openvswitch). */
export interface OvsPortSpec {
  /** The port's VLAN (OpenNebula's VLAN_ID). */
  tag?: number;
  /** The VLANs the port trunks (OpenNebula's VLAN_TAGGED_ID); none is every VLAN. */
  trunks?: number[];
  vlanMode?: 'trunk' | 'native-untagged' | 'dot1q-tunnel';
  /** QinQ: the customer VLANs a dot1q-tunnel port accepts (OpenNebula's CVLANS), and the outer tag's ethertype. */
  cvlans?: number[];
  qinqEthertype?: '802.1q' | '802.1ad';
  /** external_ids of the port's Interface that a controller reads (Neutron's iface-id, attached-mac, ...). */
  interfaceIds?: Record<string, string>;
  /**
   * os-vif's hybrid plug: the host end sits in a Linux bridge of its own, joined to the switch by a veth pair
   * whose switch end is the port, so that iptables sees the instance's traffic on a Linux bridge.
   */
  hybrid?: { linuxBridge: string; bridgeEnd: string; switchEnd: string };
}

export interface NicAddress {
  address: string;
  prefixLength: number;
}

/** `destination/prefixLength via via`, of one family. */
export interface NicRoute {
  destination: string;
  prefixLength: number;
  via: string;
}

/** A rate as libvirt and OpenNebula give it: KB/s and KB, as tc reads them (`kbps`: 1000 bytes a second; `kb`: 1024 bytes). */
export interface NicRate {
  averageKBps: number;
  peakKBps?: number;
  burstKB?: number;
}

/** Inbound is the traffic to the VM, outbound the traffic from it. */
export interface NicBandwidth {
  inbound?: NicRate;
  outbound?: NicRate;
}

/** Options a VM template may ask for; each is checked against the host's policy before use. */
export interface RequestedPrivileges {
  privileged: boolean;
  hostNetwork: boolean;
  capabilities: string[];
  devices: string[];
  hostMounts: { hostPath: string; containerPath: string; readOnly: boolean }[];
  /** An OCI runtime of the host's engine other than its default (runsc for gVisor), by the engine's name for it. */
  runtime?: string;
}

/** A named volume on the host mounted into the container: a VM disk that is not its root filesystem. */
export interface VolumeMount {
  volume: string;
  containerPath: string;
  readOnly: boolean;
  /** Mounted only when it exists on the host at deploy; a required one that is missing fails the deploy. */
  optional: boolean;
}

/** A VM as a front-end asks for it; its VmRef part (front-end, VM id, container name) is its identity. */
export interface VmSpec extends VmRef {
  displayName: string;
  hostname: string;
  image: string;
  command?: string[];
  entrypoint?: string[];
  workingDir?: string;
  user?: string;
  environment: Record<string, string>;
  /** Physical CPU share (OpenNebula CPU): a cap in cores and a scheduling weight. */
  cpu?: number;
  /** Number of virtual CPUs the VM sees. */
  vcpu?: number;
  memoryMb?: number;
  nics: NicSpec[];
  privileges: RequestedPrivileges;
  volumes?: VolumeMount[];
  /** The VM takes disks while it runs: its container is made with a hot-plug directory (see DiskHotplug). */
  diskHotplug?: boolean;
  /** Labels the front-end keeps on the container for its own use (e.g. which disk the root filesystem is). */
  frontEndLabels: Record<string, string>;
}

export const noPrivileges = (): RequestedPrivileges => ({
  privileged: false,
  hostNetwork: false,
  capabilities: [],
  devices: [],
  hostMounts: [],
});

/**
 * Enough of a VM for the verbs on its existing container (stop, resume, remove): who it is, named after its
 * container; what it was made from lives on the container, and it has no NICs to unplug.
 */
export function existingVmSpec(ref: VmRef): VmSpec {
  return {
    ...ref,
    displayName: ref.containerName,
    hostname: ref.containerName,
    image: '',
    environment: {},
    nics: [],
    privileges: noPrivileges(),
    frontEndLabels: {},
  };
}
