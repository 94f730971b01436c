import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { parseMeminfo } from '../../core/host-capacity.ts';
import { hostCgroupVersion } from '../../monitoring/cgroup-layout.ts';

/** What a host is: the figures OpenNebula's SYSTEM_HOST message carries. */
export interface SystemHostFigures {
  hostname: string;
  arch: string;
  modelName: string;
  cpuSpeedMhz: number;
  /** Cores × 100, as OpenNebula counts CPU. */
  totalCpu: number;
  totalMemoryKb: number;
  cgroupsVersion?: 1 | 2;
}

export function systemHostFigures(): SystemHostFigures {
  const cpus = os.cpus();
  const cpuInfo = readFileSync('/proc/cpuinfo', 'utf8');
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuInfo)?.[1] ?? cpus[0]?.speed ?? 0);
  return {
    hostname: os.hostname(),
    arch: os.machine(),
    modelName: cpus[0]?.model.trim() || (/^model name\s*:\s*(.+)$/m.exec(cpuInfo)?.[1] ?? 'unknown'),
    cpuSpeedMhz: Math.round(mhz),
    totalCpu: cpus.length * 100,
    totalMemoryKb: meminfo().MemTotal ?? 0,
    cgroupsVersion: hostCgroupVersion(),
  };
}

export function meminfo(): Record<string, number> {
  return parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
}

/** Size, use and free space of the filesystem holding `path`, in MB. */
export function filesystemMb(path: string): { totalMb: number; usedMb: number; freeMb: number } {
  const stats = statfsSync(path);
  const mb = (blocks: number) => Math.floor((blocks * stats.bsize) / (1024 * 1024));
  const totalMb = mb(stats.blocks);
  const freeMb = mb(stats.bavail);
  return { totalMb, usedMb: Math.max(0, totalMb - mb(stats.bfree)), freeMb };
}

/** Datastore directories under `location` that are monitored from the host (they hold a `.monitor` file). */
export function locallyMonitoredDatastores(location: string): { id: number; path: string; tmMad: string }[] {
  if (!existsSync(location)) return [];
  return readdirSync(location)
    .filter((name) => /^\d+$/.test(name) && existsSync(`${location}/${name}/.monitor`))
    .map((name) => ({ id: Number(name), path: `${location}/${name}`, tmMad: readFileSync(`${location}/${name}/.monitor`, 'utf8').trim() }));
}
