import type { CloudVms } from './cloud-vms.ts';

/**
 * The live VMs of the host's name whose own document shows the host's public key in its context: how a create cut
 * short before the cloud gave the VM id finds its VM again. A pool listing may leave the context out, so each
 * candidate is read on its own; one without the key (another user's, or made by hand) is named in one line and
 * left alone, never adopted or terminated.
 */
export async function vmsHoldingHostKey(cloud: CloudVms, name: string, publicKey: string, say: (line: string) => void): Promise<number[]> {
  const ours: number[] = [];
  const others: number[] = [];
  for (const candidate of await cloud.vmsNamed(name)) {
    const vm = await cloud.vm(candidate.id);
    if (!vm || vm.done) continue;
    (vm.sshPublicKey === publicKey ? ours : others).push(vm.id);
  }
  if (others.length > 0) {
    const which = others.length === 1 ? `VM ${others[0]} is` : `VMs ${others.join(', ')} are`;
    say(`${which} named ${name} without this host's key in its context: neither adopted nor terminated`);
  }
  return ours;
}
