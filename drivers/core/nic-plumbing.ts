import { pollUntil } from './poll.ts';
import { createHash } from 'node:crypto';
import { BridgeFirewall } from './bridge-firewall.ts';
import { BridgeMissingError, InvalidInputError } from './errors.ts';
import { addressLines, reconcileAddresses, routeLines } from './guest-addresses.ts';
import type { HostAccess } from './host-access.ts';
import { parseNetlinkLinks, type HostLink } from './host-links.ts';
import { ownedBy, pairedWithin, type LinkOwner } from './link-ownership.ts';
import { NicBandwidth } from './nic-bandwidth.ts';
import { netDevPath, parseNetDev } from './net-dev.ts';
import { OvsSwitch, type SwitchState } from './ovs-switch.ts';
import type { NicSpec } from './vm-spec.ts';

/**
 * Gives a running container its VM NICs: per NIC a veth pair whose host end (the NIC's TARGET)
 * is plugged into the NIC's bridge and whose peer becomes eth<nic id> inside the container, with
 * the lease's MAC, addresses, MTU and routes. Docker's own networking is never involved.
 * Everything happens on the container's host through its HostAccess, local or remote.
 */
export class NicPlumbing {
  private readonly firewall: BridgeFirewall;
  private readonly bandwidth: NicBandwidth;
  private readonly switch: OvsSwitch;

  constructor(private readonly host: HostAccess) {
    this.firewall = new BridgeFirewall(host);
    this.bandwidth = new NicBandwidth(host);
    this.switch = new OvsSwitch(host);
  }

  /**
   * Plugs every NIC the container does not have yet; a half-made NIC from an interrupted run is redone.
   * Only links marked as this VM's are ever removed or reused: a name held by anything else refuses the plug.
   */
  async plug(owner: LinkOwner, pid: number, nics: NicSpec[]): Promise<void> {
    const present = await this.interfacesInside(pid);
    const missing = nics.filter((nic) => !present.has(guestInterface(nic)));
    if (missing.length === 0) return;
    // Host ends left by an interrupted run, or by a container that just restarted (the kernel removes
    // those on its own, a moment later); a stale peer inside the container goes with its host end.
    const { stale, switchState } = await this.inspectHost(owner, missing);
    // Ports of the VM's previous process go first, in a transaction of their own: deleted and added again in
    // one, a port keeps the switch's hold on the device of that name that is gone, and passes no traffic.
    await this.switch.deletePorts(missing.map(switchPortName).filter((name) => switchState.ports.get(name) === owner));
    if (stale.length) await this.removeLinks(hostEnds(stale));

    const hostLines: string[] = [];
    const ovsPorts: NicSpec[] = [];
    for (const nic of missing) {
      const peer = temporaryPeerName(nic.hostInterface);
      const mtu = nic.mtu ? ` mtu ${nic.mtu}` : '';
      hostLines.push(`link add ${nic.hostInterface}${mtu} type veth peer name ${peer}${mtu}`);
      hostLines.push(`link set ${nic.hostInterface} alias ${owner}`, `link set ${peer} alias ${owner}`);
      if (nic.bridgeType === 'linux') hostLines.push(`link set ${nic.hostInterface} master ${nic.bridge}`);
      else ovsPorts.push(nic);
      hostLines.push(`link set ${nic.hostInterface} up`, `link set ${peer} netns ${pid}`);
    }
    // A batch for a VM's NICs is below PIPE_BUF, so `ip` reads all of it or nothing even if this process dies;
    // without -force it stops at the first failure, so a name taken meanwhile by another link is never marked.
    await this.asRoot(['ip', '-batch', '-'], hostLines.join('\n') + '\n');
    await this.plugSwitchPorts(owner, ovsPorts);

    const guestLines: string[] = ['link set lo up'];
    for (const nic of missing) {
      const name = guestInterface(nic);
      guestLines.push(`link set ${temporaryPeerName(nic.hostInterface)} name ${name}`, `link set ${name} alias ""`, `link set ${name} address ${nic.mac}`);
      guestLines.push(...addressLines(nic, name), `link set ${name} up`);
    }
    guestLines.push(...missing.flatMap((nic) => routeLines(nic, guestInterface(nic))));
    await this.asRoot(['nsenter', `--target=${pid}`, '--net', 'ip', '-batch', '-'], guestLines.join('\n') + '\n');
    await this.bandwidth.apply(pid, missing, true);
    await this.checksumInGuest(pid, ovsPorts, switchState);
  }

  /**
   * The NICs' Open vSwitch ports, in one ovs-vsctl transaction that also marks them as the VM's; a hybrid NIC
   * first gets its Linux bridge and veth pair.
   */
  private async plugSwitchPorts(owner: LinkOwner, nics: NicSpec[]): Promise<void> {
    const hybridLines: string[] = [];
    for (const nic of nics) {
      const hybrid = nic.ovs?.hybrid;
      if (!hybrid) continue;
      const { linuxBridge, bridgeEnd, switchEnd } = hybrid;
      const mtu = nic.mtu ? ` mtu ${nic.mtu}` : '';
      // As os-vif's ensure_bridge and create_veth_pair make them: no MAC ageing, both ends promiscuous.
      hybridLines.push(`link add ${linuxBridge}${mtu} type bridge ageing_time 0`, `link set ${linuxBridge} alias ${owner}`);
      hybridLines.push(`link add ${bridgeEnd}${mtu} type veth peer name ${switchEnd}${mtu}`);
      hybridLines.push(`link set ${bridgeEnd} alias ${owner}`, `link set ${switchEnd} alias ${owner}`);
      hybridLines.push(`link set ${bridgeEnd} master ${linuxBridge}`, `link set ${nic.hostInterface} master ${linuxBridge}`);
      hybridLines.push(`link set ${bridgeEnd} promisc on up`, `link set ${switchEnd} promisc on up`, `link set ${linuxBridge} up`);
    }
    if (hybridLines.length) {
      await this.asRoot(['ip', '-batch', '-'], hybridLines.join('\n') + '\n');
      for (const nic of nics) if (nic.ovs?.hybrid) await this.quietLinuxBridge(nic.ovs.hybrid.linuxBridge);
    }
    const ports = nics.map((nic) => ({ name: switchPortName(nic), bridge: nic.bridge, spec: nic.ovs ?? {}, mtu: nic.mtu }));
    await this.switch.addPorts(owner, ports);
  }

  /**
   * A hybrid NIC's Linux bridge carries no address of the host's: no IPv6 of its own, and no ARP answers for the
   * host's addresses on it (what os-vif sets on it).
   */
  private async quietLinuxBridge(bridge: string): Promise<void> {
    const settings: [string, string][] = [
      [`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1'],
      [`/proc/sys/net/ipv4/conf/${bridge}/arp_ignore`, '1'],
      [`/proc/sys/net/ipv4/conf/${bridge}/arp_announce`, '2'],
    ];
    for (const [path, value] of settings) if (await this.host.exists(path)) await this.asRoot(['tee', path], value);
  }

  /**
   * Open vSwitch's userspace datapath (`datapath_type=netdev`, where the kernel has no openvswitch module) reads
   * frames from a veth as they are, and a frame whose TCP or UDP checksum the guest left to the NIC (checksum
   * offload) reaches the other side unchecksummed and is dropped there: ping works, TCP does not. The guest's
   * end of such a NIC computes its own checksums.
   */
  private async checksumInGuest(pid: number, nics: NicSpec[], state: SwitchState): Promise<void> {
    for (const nic of nics.filter((n) => state.bridges.get(n.bridge) === 'netdev')) {
      await this.asRoot(['nsenter', `--target=${pid}`, '--net', 'ethtool', '-K', guestInterface(nic), 'tx', 'off']);
    }
  }

  /**
   * Brings the NICs already plugged into the running container in line with their specs: addresses (aliases
   * come and go this way), routes and bandwidth limits. NICs not plugged yet are left to `plug`.
   */
  async reconfigure(pid: number, nics: NicSpec[]): Promise<void> {
    const present = await this.interfacesInside(pid);
    const plugged = nics.filter((nic) => present.has(guestInterface(nic)));
    if (plugged.length === 0) return;
    await reconcileAddresses(this.host, pid, plugged);
    await this.bandwidth.apply(pid, plugged);
  }

  /** Lets traffic within the NICs' bridges through the host firewall, but for those the front-end filters (see BridgeFirewall). */
  openBridges(nics: NicSpec[]): Promise<void> {
    const linux = nics.filter((nic) => nic.bridgeType === 'linux');
    const filtered = linux.filter((nic) => nic.filteredByFrontEnd).map((nic) => nic.bridge);
    return this.firewall.allowWithinBridges(
      linux.map((nic) => nic.bridge),
      filtered,
    );
  }

  /**
   * Removes the host end of each NIC that is the VM's (its peer in the container goes with it); missing
   * ones are fine, and a link of that name that is not the VM's is left alone. With the VM's running
   * process `pid`, a host end paired with an interface inside it is the VM's too, marked or not.
   */
  async unplug(owner: LinkOwner, nics: NicSpec[], pid?: number): Promise<void> {
    if (nics.length === 0) return;
    const links = await this.host.links.describe(hostEnds(nics));
    const ours = new Set([...links].filter(([, link]) => ownedBy(link, owner)).map(([name]) => name));
    const unmarked = nics.filter((nic) => links.has(nic.hostInterface) && !ours.has(nic.hostInterface));
    if (pid !== undefined && unmarked.length) {
      const inside = await this.linksInside(pid);
      for (const nic of unmarked) if (pairedWithin(links.get(nic.hostInterface)!, inside)) ours.add(nic.hostInterface);
    }
    await this.removeSwitchPorts(owner, nics);
    await this.removeLinks([...ours]);
  }

  /** Deletes the NICs' Open vSwitch ports that carry the VM's mark; a port of that name that is not the VM's stays. */
  private async removeSwitchPorts(owner: LinkOwner, nics: NicSpec[]): Promise<void> {
    const names = nics.filter((nic) => nic.bridgeType === 'openvswitch').map(switchPortName);
    if (names.length === 0 || !(await this.switch.running())) return;
    const { ports } = await this.switch.describe([], names);
    await this.switch.deletePorts(names.filter((name) => ports.get(name) === owner));
  }

  /** Interface names inside the container's network namespace. */
  async interfacesInside(pid: number): Promise<Set<string>> {
    return new Set(parseNetDev(await this.host.readFile(netDevPath(pid))).keys());
  }

  /**
   * Before anything is made: every Linux bridge the NICs name exists, no two NICs share a host end, and
   * every link name a NIC needs (a bridge's too) is free or already this VM's. Returns the
   * NICs with links of the VM's own left on the host (an interrupted run's), which plugging replaces.
   */
  async checkHost(owner: LinkOwner, nics: NicSpec[]): Promise<NicSpec[]> {
    return (await this.inspectHost(owner, nics)).stale;
  }

  /** checkHost's checks, with what the host's Open vSwitch has of the NICs' bridges and ports. */
  private async inspectHost(owner: LinkOwner, nics: NicSpec[]): Promise<{ stale: NicSpec[]; switchState: SwitchState }> {
    const seen = new Set<string>();
    for (const nic of nics) {
      if (seen.has(nic.hostInterface))
        throw new InvalidInputError(`NIC ${nic.nicId}: host interface ${nic.hostInterface} is named by another NIC of the VM too`);
      seen.add(nic.hostInterface);
    }
    await this.checkBridges(nics);
    const switchState = await this.checkSwitch(owner, nics);
    let links = await this.host.links.describe(hostEnds(nics));
    const foreign = () => [...links.values()].some((link) => !ownedBy(link, owner));
    // A host end of the VM's previous process (made before links were marked) is removed by the kernel a
    // moment after that process's namespace went away: give it that moment before calling the name taken.
    if (foreign()) {
      const settled = async () => ((links = await this.host.links.describe(hostEnds(nics))), !foreign());
      await pollUntil(settled, { timeoutMs: FOREIGN_LINK_GRACE_MS, intervalMs: 100, waitFirst: true });
    }
    for (const nic of nics) {
      for (const name of [nic.hostInterface, temporaryPeerName(nic.hostInterface)]) {
        const link = links.get(name);
        if (link && !ownedBy(link, owner)) {
          throw new InvalidInputError(
            `NIC ${nic.nicId}: a link named ${name} already exists on ${this.host.name} and is not this VM's; it was left alone (name another host interface)`,
          );
        }
      }
    }
    return { stale: nics.filter((nic) => hostEnds([nic]).some((name) => links.has(name))), switchState };
  }

  /** Every Open vSwitch bridge the NICs name exists, and no port they need is held by anything but the VM. */
  private async checkSwitch(owner: LinkOwner, nics: NicSpec[]): Promise<SwitchState> {
    const wanted = nics.filter((nic) => nic.bridgeType === 'openvswitch');
    if (wanted.length === 0) return { bridges: new Map(), ports: new Map() };
    const state = await this.switch.describe([...new Set(wanted.map((nic) => nic.bridge))], wanted.map(switchPortName));
    for (const nic of wanted) {
      if (!state.bridges.has(nic.bridge)) throw new BridgeMissingError(nic.nicId, nic.bridge, this.host.name);
      const port = switchPortName(nic);
      const holder = state.ports.get(port);
      if (holder !== undefined && holder !== owner) {
        throw new InvalidInputError(
          `NIC ${nic.nicId}: an Open vSwitch port named ${port} already exists on ${this.host.name} and is not this VM's; it was left alone (name another host interface)`,
        );
      }
    }
    return state;
  }

  /** Every Linux bridge the NICs name must exist; refused before anything is made. */
  private async checkBridges(nics: NicSpec[]): Promise<void> {
    const wanted = nics.filter((nic) => nic.bridgeType === 'linux');
    if (wanted.length === 0) return;
    const bridges = await this.host.links.bridges(wanted.map((nic) => nic.bridge));
    for (const nic of wanted) {
      if (!bridges.has(nic.bridge)) {
        throw new BridgeMissingError(nic.nicId, nic.bridge, this.host.name);
      }
    }
  }

  /** Deletes the named links (host ends, temporary peers, a hybrid NIC's bridge and veth), which the caller has proven the VM's. */
  private async removeLinks(names: string[]): Promise<void> {
    if (names.length === 0) return;
    const present = await this.host.links.present(names);
    const lines = names.filter((name) => present.has(name)).map((name) => `link del ${name}`);
    if (lines.length === 0) return;
    // A link may vanish on its own meanwhile (its container just stopped, or its veth peer was deleted first):
    // only one still there is a failure.
    await this.asRoot(['ip', '-force', '-batch', '-'], lines.join('\n') + '\n').catch(async (error: unknown) => {
      const left = await this.host.links.present(names);
      if (left.size) throw error;
    });
  }

  /** The links inside the container's network namespace, with their peers' indexes. */
  private async linksInside(pid: number): Promise<Map<string, HostLink>> {
    return parseNetlinkLinks(await this.asRoot(['nsenter', `--target=${pid}`, '--net', 'ip', '-j', 'link', 'show']));
  }

  private asRoot(argv: string[], input?: string): Promise<string> {
    return this.host.run(argv, { root: true, input });
  }
}

/** How long a link of the VM's name that is not marked as its may take to vanish (see checkHost). */
const FOREIGN_LINK_GRACE_MS = 1500;

/** The host end and the temporary peer name of each NIC, and a hybrid NIC's bridge and veth: the links of theirs that can be on the host. */
function hostEnds(nics: NicSpec[]): string[] {
  return nics.flatMap((nic) => {
    const hybrid = nic.ovs?.hybrid;
    const own = [nic.hostInterface, temporaryPeerName(nic.hostInterface)];
    return hybrid ? [...own, hybrid.linuxBridge, hybrid.bridgeEnd, hybrid.switchEnd] : own;
  });
}

/** The NIC's port on its Open vSwitch bridge: its host end, or the switch end of a hybrid NIC's veth pair. */
function switchPortName(nic: NicSpec): string {
  return nic.ovs?.hybrid?.switchEnd ?? nic.hostInterface;
}

export function guestInterface(nic: NicSpec): string {
  return `eth${nic.nicId}`;
}

/** The container end's name while it is still on the host: short, unique per NIC target, and recognisable. */
export function temporaryPeerName(hostInterface: string): string {
  return `dvp${createHash('sha256').update(hostInterface).digest('hex').slice(0, 11)}`;
}
