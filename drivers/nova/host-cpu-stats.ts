import type { HostAccess } from '../core/host-access.ts';
import type { HostCpuStats } from './diagnostics-schemas.ts';

/** /proc/stat counts in USER_HZ ticks, which the kernel keeps at 100 a second for user space whatever its own HZ. */
const NANOSECONDS_PER_TICK = 10_000_000;

/**
 * The host's CPU times since it booted, in nanoseconds, summed over its CPUs, and its CPU frequency in MHz, as
 * nova's get_host_cpu_stats wants them. Grouped as libvirt groups them: nice time is user time, interrupts kernel time.
 */
export async function hostCpuStats(access: HostAccess): Promise<HostCpuStats> {
  const [stat, cpuinfo] = await Promise.all([access.readFile('/proc/stat'), access.readFile('/proc/cpuinfo').catch(() => '')]);
  return { ...cpuTimes(stat), frequency: cpuFrequency(cpuinfo) };
}

export function cpuTimes(stat: string): Omit<HostCpuStats, 'frequency'> {
  const line = stat.split('\n').find((text) => /^cpu\s/.test(text));
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0] = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const ns = (ticks: number) => (Number.isFinite(ticks) ? ticks * NANOSECONDS_PER_TICK : 0);
  return { kernel: ns(system + irq + softirq), idle: ns(idle), user: ns(user + nice), iowait: ns(iowait) };
}

/** The first CPU's current clock ("cpu MHz"); 0 where cpuinfo does not say (some ARM hosts, some VMs). */
export function cpuFrequency(cpuinfo: string): number {
  return Math.round(Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1] ?? 0));
}
