import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { meminfo } from './system-host-figures.ts';
import { readState, writeState } from '../../monitoring/state-file.ts';

/** What a host uses now: the figures of OpenNebula's MONITOR_HOST message (memory in KB, CPU in % × cores). */
export interface HostUsage {
  usedMemoryKb: number;
  freeMemoryKb: number;
  usedCpu: number;
  freeCpu: number;
  netRx: number;
  netTx: number;
}

interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * Memory as OpenNebula counts it (buffers and page cache are free), CPU busy time over the interval since
 * the previous run's sample (or a short one when there is none), traffic on the physical interfaces.
 */
export async function hostUsage(statePath: string, firstIntervalMs = 200): Promise<HostUsage> {
  const memory = meminfo();
  const total = memory.MemTotal ?? 0;
  const used = total - (memory.MemFree ?? 0) - (memory.Buffers ?? 0) - (memory.Cached ?? 0);

  let before = readState<CpuTimes | null>(statePath, null);
  if (!before) {
    before = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, firstIntervalMs));
  }
  const now = cpuTimes();
  writeState(statePath, now);
  const cores = readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm)?.length ?? 1;
  const totalDelta = now.total - before.total;
  const busyShare = totalDelta > 0 ? Math.min(1, Math.max(0, (now.busy - before.busy) / totalDelta)) : 0;
  const usedCpu = Math.round(busyShare * cores * 100);

  const net = physicalTraffic();
  return { usedMemoryKb: used, freeMemoryKb: total - used, usedCpu, freeCpu: cores * 100 - usedCpu, netRx: net.rx, netTx: net.tx };
}

function cpuTimes(): CpuTimes {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** Interfaces backed by a device (NICs), not bridges, veths or loopback. */
function physicalTraffic(): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const name of readdirSync('/sys/class/net')) {
    if (!existsSync(`/sys/class/net/${name}/device`)) continue;
    rx += Number(readFileSync(`/sys/class/net/${name}/statistics/rx_bytes`, 'utf8')) || 0;
    tx += Number(readFileSync(`/sys/class/net/${name}/statistics/tx_bytes`, 'utf8')) || 0;
  }
  return { rx, tx };
}
