import type { HostAccess } from './host-access.ts';
import type { NicRate, NicSpec } from './vm-spec.ts';

/**
 * A NIC's bandwidth limits, shaped with `tc` htb as libvirt shapes a KVM guest's tap: the inbound rate (to the VM)
 * on the host end's egress, the outbound rate (from the VM) on the VM end's egress. libvirt polices the tap's
 * ingress for the outbound rate instead; that needs the kernel's act_police, which not every host kernel has,
 * while htb on the VM end limits the same traffic with the veth alone, and goes with it.
 */
export class NicBandwidth {
  constructor(private readonly host: HostAccess) {}

  /**
   * Sets each NIC's limits, replacing any it had and removing those its spec no longer has. `fresh` NICs were
   * plugged just now and carry no limits yet, so nothing is read first.
   */
  async apply(pid: number, nics: NicSpec[], fresh = false): Promise<void> {
    const inside = ['nsenter', `--target=${pid}`, '--net', 'tc'];
    const shaped = fresh ? { host: new Set<string>(), inside: new Set<string>() } : await this.shapedNow(inside);
    const hostLines = nics.flatMap((nic) => shapingLines(nic.hostInterface, nic.bandwidth?.inbound, shaped.host.has(nic.hostInterface)));
    const guestLines = nics.flatMap((nic) => shapingLines(`eth${nic.nicId}`, nic.bandwidth?.outbound, shaped.inside.has(`eth${nic.nicId}`)));
    if (hostLines.length) await this.host.run(['tc', '-batch', '-'], { root: true, input: hostLines.join('\n') + '\n' });
    if (guestLines.length) await this.host.run([...inside, '-batch', '-'], { root: true, input: guestLines.join('\n') + '\n' });
  }

  private async shapedNow(inside: string[]): Promise<{ host: Set<string>; inside: Set<string> }> {
    return {
      host: shapedLinks(await this.host.run(['tc', 'qdisc', 'show'], { root: true })),
      inside: shapedLinks(await this.host.run([...inside, 'qdisc', 'show'], { root: true })),
    };
  }
}

/** `tc -batch` lines that leave `dev` shaped to `rate`, or unshaped without one; `shaped` says it has limits now. */
export function shapingLines(dev: string, rate: NicRate | undefined, shaped: boolean): string[] {
  const lines = shaped ? [`qdisc del dev ${dev} root`] : [];
  if (!rate) return lines;
  const peak = rate.peakKBps ? ` ceil ${rate.peakKBps}kbps` : '';
  const burst = rate.burstKB ? ` burst ${rate.burstKB}kb` : '';
  // The class keeps htb's fifo for its packets: sfq, which libvirt puts there, is missing from some host kernels.
  lines.push(
    `qdisc add dev ${dev} root handle 1: htb default 1`,
    `class add dev ${dev} parent 1: classid 1:1 htb rate ${rate.averageKBps}kbps${peak}${burst} quantum ${quantum(rate)}`,
  );
  return lines;
}

/** The links of `tc qdisc show` whose root is the htb these limits put there. */
export function shapedLinks(output: string): Set<string> {
  const links = new Set<string>();
  for (const match of output.matchAll(/^qdisc htb 1: dev (\S+) root/gm)) links.add(match[1]!);
  return links;
}

/**
 * htb's quantum: how many bytes a class sends per round. tc derives it from the rate (rate / 10) and warns when that
 * is below a frame or above 200000 bytes; it is kept within those bounds, as libvirt does.
 */
function quantum(rate: NicRate): number {
  const bytesPerSecond = Math.max(rate.averageKBps, rate.peakKBps ?? 0) * 1000;
  return Math.min(200_000, Math.max(1600, Math.floor(bytesPerSecond / 10)));
}
