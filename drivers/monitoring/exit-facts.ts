import type { VmExit, VmStatus } from '../core/vm-status.ts';
import { readState, writeState } from './state-file.ts';

/** At most this many exits are looked up in one probe run; the others wait for the next runs. */
const LOOKUPS_PER_RUN = 16;

/**
 * How each exited VM's last run ended (exit code, OOM kill, last lines), looked up once per exit: the listing the
 * probes start from says none of it, and asking the engine about every stopped VM on every run would cost a
 * dense host dearly. Kept in `path` by container id; a VM seen running again is forgotten until it exits again.
 */
export async function knownExits(path: string, vms: VmStatus[], lookUp: (containerName: string) => Promise<VmExit | undefined>): Promise<Map<string, VmExit>> {
  const remembered = readState<Record<string, VmExit>>(path, {});
  const kept: Record<string, VmExit> = {};
  const found = new Map<string, VmExit>();
  let lookups = 0;
  for (const vm of vms) {
    if (vm.phase !== 'exited' && vm.phase !== 'dead') continue;
    let exit = remembered[vm.containerId];
    if (!exit && lookups < LOOKUPS_PER_RUN) {
      lookups++;
      exit = await lookUp(vm.name).catch(() => undefined);
    }
    if (!exit) continue;
    kept[vm.containerId] = exit;
    found.set(vm.name, exit);
  }
  // The probes run every few seconds: the file is written only when what it holds changed.
  if (JSON.stringify(kept) !== JSON.stringify(remembered)) writeState(path, kept);
  return found;
}

/** The VMs with what their exits say merged in: an OOM kill makes a stop a failure. */
export function withExits(vms: VmStatus[], exits: Map<string, VmExit>): VmStatus[] {
  return vms.map((vm) => {
    const exit = exits.get(vm.name);
    return exit ? { ...vm, exitCode: exit.exitCode, oomKilled: exit.oomKilled, exitReason: exit.error } : vm;
  });
}
