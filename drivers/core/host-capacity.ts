import { InvalidInputError } from './errors.ts';
import type { HostAccess } from './host-access.ts';
import type { VmSpec } from './vm-spec.ts';

/** What a host has to give its VMs at most: its online CPUs and its total memory. */
export interface HostCapacity {
  cpus: number;
  memoryMb: number;
}

/** Read on the host itself through its HostAccess, so a host reached over SSH answers for itself. */
export async function hostCapacity(access: HostAccess): Promise<HostCapacity> {
  const [online, meminfo] = await Promise.all([access.readFile('/sys/devices/system/cpu/online'), access.readFile('/proc/meminfo')]);
  return { cpus: countCpus(online), memoryMb: Math.floor((parseMeminfo(meminfo).MemTotal ?? 0) / 1024) };
}

/**
 * Refuses a VM that asks for more memory or more CPUs than its host has: the engine would take the limits
 * and the VM could never have them. What the other VMs already use is the scheduler's business, not this.
 */
export async function checkFitsHost(spec: Pick<VmSpec, 'vmId' | 'cpu' | 'vcpu' | 'memoryMb'>, access: HostAccess): Promise<void> {
  if (spec.cpu === undefined && spec.vcpu === undefined && spec.memoryMb === undefined) return;
  const capacity = await hostCapacity(access);
  const refuse = (what: string, has: string): never => {
    throw new InvalidInputError(`VM ${spec.vmId}: ${what} is more than ${access.name} has (${has})`);
  };
  if (spec.memoryMb !== undefined && spec.memoryMb > capacity.memoryMb) refuse(`MEMORY ${spec.memoryMb} MB`, `${capacity.memoryMb} MB`);
  if (spec.cpu !== undefined && spec.cpu > capacity.cpus) refuse(`CPU ${spec.cpu}`, `${capacity.cpus} CPUs`);
  if (spec.vcpu !== undefined && spec.vcpu > capacity.cpus) refuse(`VCPU ${spec.vcpu}`, `${capacity.cpus} CPUs`);
}

/** /proc/meminfo as numbers (kB for the sizes). */
export function parseMeminfo(text: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (match) values[match[1]!] = Number(match[2]);
  }
  return values;
}

/** The CPUs of a list such as /sys/devices/system/cpu/online: `0-3,6,8-9` is 7. */
function countCpus(list: string): number {
  let count = 0;
  for (const range of list.trim().split(',')) {
    const [first, last = first] = range.split('-').map(Number);
    if (Number.isInteger(first) && Number.isInteger(last) && last! >= first!) count += last! - first! + 1;
  }
  return count;
}
