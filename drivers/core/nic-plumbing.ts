import { createHash } from 'node:crypto';
import { BridgeFirewall } from './bridge-firewall.ts';
import { InvalidInputError } from './errors.ts';
import type { HostAccess } from './host-access.ts';
import { netDevPath, parseNetDev } from './net-dev.ts';
import type { NicSpec } from './vm-spec.ts';

/**
 * Gives a running container its VM NICs: per NIC a veth pair whose host end (the NIC's TARGET)
 * is plugged into the NIC's bridge and whose peer becomes eth<nic id> inside the container, with
 * the lease's MAC, addresses, MTU and routes. Docker's own networking is never involved.
 * Everything happens on the container's host through its HostAccess, local or remote.
 */
export class NicPlumbing {
  private readonly firewall: BridgeFirewall;

  constructor(private readonly host: HostAccess) {
    this.firewall = new BridgeFirewall(host);
  }

  /** Plugs every NIC the container does not have yet; a half-made NIC from an interrupted run is redone. */
  async plug(pid: number, nics: NicSpec[]): Promise<void> {
    const present = await this.interfacesInside(pid);
    const missing = nics.filter((nic) => !present.has(guestInterface(nic)));
    if (missing.length === 0) return;
    await this.checkBridges(missing);
    // Host ends left by an interrupted run, or by a container that just restarted (the kernel removes
    // those on its own, a moment later); a stale peer inside the container goes with its host end.
    const onHost = await this.host.links.present(hostEnds(missing));
    const stale = missing.filter((nic) => onHost.has(nic.hostInterface) || onHost.has(temporaryPeerName(nic.hostInterface)));
    if (stale.length) await this.unplug(stale);

    const hostLines: string[] = [];
    const ovsPorts: NicSpec[] = [];
    for (const nic of missing) {
      const peer = temporaryPeerName(nic.hostInterface);
      const mtu = nic.mtu ? ` mtu ${nic.mtu}` : '';
      hostLines.push(`link add ${nic.hostInterface}${mtu} type veth peer name ${peer}${mtu}`);
      if (nic.bridgeType === 'linux') hostLines.push(`link set ${nic.hostInterface} master ${nic.bridge}`);
      else ovsPorts.push(nic);
      hostLines.push(`link set ${nic.hostInterface} up`, `link set ${peer} netns ${pid}`);
    }
    // A batch for a VM's NICs is below PIPE_BUF, so `ip` reads all of it or nothing even if this process dies.
    await this.asRoot(['ip', '-batch', '-'], hostLines.join('\n') + '\n');
    for (const nic of ovsPorts) {
      await this.asRoot(['ovs-vsctl', '--may-exist', 'add-port', nic.bridge, nic.hostInterface]);
    }

    const guestLines: string[] = ['link set lo up'];
    for (const nic of missing) {
      const name = guestInterface(nic);
      guestLines.push(`link set ${temporaryPeerName(nic.hostInterface)} name ${name}`, `link set ${name} address ${nic.mac}`);
      if (nic.ipv4) guestLines.push(`addr add ${nic.ipv4.address}/${nic.ipv4.prefixLength} dev ${name}`);
      for (const address of nic.ipv6 ?? []) guestLines.push(`addr add ${address.address}/${address.prefixLength} dev ${name} nodad`);
      guestLines.push(`link set ${name} up`);
      const metric = 100 + nic.nicId;
      if (nic.gateway) guestLines.push(`route add default via ${nic.gateway} dev ${name} metric ${metric}`);
      if (nic.gateway6) guestLines.push(`route add ::/0 via ${nic.gateway6} dev ${name} metric ${metric}`);
    }
    await this.asRoot(['nsenter', `--target=${pid}`, '--net', 'ip', '-batch', '-'], guestLines.join('\n') + '\n');
  }

  /** Lets traffic within the NICs' bridges through the host firewall (see BridgeFirewall). */
  openBridges(nics: NicSpec[]): Promise<void> {
    return this.firewall.allowWithinBridges(nics.filter((nic) => nic.bridgeType === 'linux').map((nic) => nic.bridge));
  }

  /** Removes the host end of each NIC (its peer in the container goes with it); missing ones are fine. */
  async unplug(nics: NicSpec[]): Promise<void> {
    if (nics.length === 0) return;
    const onHost = await this.host.links.present(hostEnds(nics));
    const lines = nics.filter((nic) => onHost.has(nic.hostInterface)).map((nic) => `link del ${nic.hostInterface}`);
    for (const nic of nics) if (onHost.has(temporaryPeerName(nic.hostInterface))) lines.push(`link del ${temporaryPeerName(nic.hostInterface)}`);
    for (const nic of nics.filter((n) => n.bridgeType === 'openvswitch')) {
      await this.asRoot(['ovs-vsctl', '--if-exists', 'del-port', nic.bridge, nic.hostInterface]);
    }
    if (lines.length === 0) return;
    // A link may vanish on its own meanwhile (its container just stopped): only one still there is a failure.
    await this.asRoot(['ip', '-force', '-batch', '-'], lines.join('\n') + '\n').catch(async (error: unknown) => {
      const left = await this.host.links.present(hostEnds(nics));
      if (left.size) throw error;
    });
  }

  /** Interface names inside the container's network namespace. */
  async interfacesInside(pid: number): Promise<Set<string>> {
    return new Set(parseNetDev(await this.host.readFile(netDevPath(pid))).keys());
  }

  /** Every Linux bridge the NICs name must exist; refused before anything is made. */
  async checkBridges(nics: NicSpec[]): Promise<void> {
    const wanted = nics.filter((nic) => nic.bridgeType === 'linux');
    if (wanted.length === 0) return;
    const bridges = await this.host.links.bridges(wanted.map((nic) => nic.bridge));
    for (const nic of wanted) {
      if (!bridges.has(nic.bridge)) {
        throw new InvalidInputError(
          `NIC ${nic.nicId}: bridge ${nic.bridge} does not exist on ${this.host.name} (create it, or use a virtual network with VN_MAD=bridge)`,
        );
      }
    }
  }

  private asRoot(argv: string[], input?: string): Promise<string> {
    return this.host.run(argv, { root: true, input });
  }
}

/** The host end and the temporary peer name of each NIC: the links of theirs that can be on the host. */
function hostEnds(nics: NicSpec[]): string[] {
  return nics.flatMap((nic) => [nic.hostInterface, temporaryPeerName(nic.hostInterface)]);
}

export function guestInterface(nic: NicSpec): string {
  return `eth${nic.nicId}`;
}

/** The container end's name while it is still on the host: short, unique per NIC target, and recognisable. */
export function temporaryPeerName(hostInterface: string): string {
  return `dvp${createHash('sha256').update(hostInterface).digest('hex').slice(0, 11)}`;
}
