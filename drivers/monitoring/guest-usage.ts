import type { CgroupLayout } from './cgroup-layout.ts';
import { readCgroupUsage, readNetworkCounters, type CgroupUsage } from './cgroup-usage.ts';
import { readState, writeState } from './state-file.ts';

export interface GuestUsage {
  vmId: string;
  name: string;
  /** Percent of one CPU over the interval since the previous sample. */
  cpuPercent: number;
  /** CPU time used since the container started. */
  cpuNanoseconds: number;
  memoryKb: number;
  netRx: number;
  netTx: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  diskReadOps: number;
  diskWriteOps: number;
}

export interface RunningGuest {
  vmId: string;
  name: string;
  containerId: string;
}

interface CpuSamples {
  time: number;
  cpu: Record<string, number>;
}

/**
 * One pass over the running guests' cgroup files: no engine call per container. CPU is the rate since
 * the sample the previous run left in `statePath`; a guest seen for the first time is sampled twice,
 * `firstIntervalMs` apart, so that even the first report is a real figure.
 * A guest whose cgroup cannot be read is skipped and named in `unreadable`, never hiding the others.
 */
export async function sampleGuestUsage(
  guests: RunningGuest[],
  layout: CgroupLayout,
  statePath: string,
  firstIntervalMs = 200,
): Promise<{ usage: GuestUsage[]; unreadable: string[] }> {
  const previous = readState<CpuSamples>(statePath, { time: 0, cpu: {} });
  const readings = new Map<string, CgroupUsage>();
  const unreadable: string[] = [];
  const readOne = (guest: RunningGuest) => {
    try {
      const usage = readCgroupUsage(layout, guest.containerId);
      if (usage) readings.set(guest.containerId, usage);
      else unreadable.push(guest.name);
    } catch {
      unreadable.push(guest.name);
    }
  };
  const clock = () => performance.timeOrigin + performance.now();
  let now = clock();
  for (const guest of guests) readOne(guest);

  // Where each guest's CPU interval starts: the previous run's sample, or a first reading taken now.
  const start = new Map<string, { time: number; cpuNanoseconds: number }>();
  const unseen: RunningGuest[] = [];
  for (const guest of guests) {
    const reading = readings.get(guest.containerId);
    if (!reading) continue;
    const before = previous.cpu[guest.containerId];
    if (before !== undefined && previous.time) start.set(guest.containerId, { time: previous.time, cpuNanoseconds: before });
    else {
      start.set(guest.containerId, { time: now, cpuNanoseconds: reading.cpuNanoseconds });
      unseen.push(guest);
    }
  }
  if (unseen.length) {
    await new Promise((resolve) => setTimeout(resolve, firstIntervalMs));
    now = clock();
    for (const guest of unseen) readOne(guest);
  }

  const usage: GuestUsage[] = [];
  const samples: CpuSamples = { time: now, cpu: {} };
  for (const guest of guests) {
    const reading = readings.get(guest.containerId);
    if (!reading) continue;
    samples.cpu[guest.containerId] = reading.cpuNanoseconds;
    const from = start.get(guest.containerId)!;
    const elapsedNs = (now - from.time) * 1e6;
    const used = reading.cpuNanoseconds - from.cpuNanoseconds; // negative after a restart: no figure yet
    const net = readNetworkCounters(reading.pid);
    usage.push({
      vmId: guest.vmId,
      name: guest.name,
      cpuPercent: elapsedNs > 0 && used > 0 ? (used / elapsedNs) * 100 : 0,
      cpuNanoseconds: reading.cpuNanoseconds,
      memoryKb: Math.round(reading.memoryBytes / 1024),
      netRx: net.rx,
      netTx: net.tx,
      diskReadBytes: reading.diskReadBytes,
      diskWriteBytes: reading.diskWriteBytes,
      diskReadOps: reading.diskReadOps,
      diskWriteOps: reading.diskWriteOps,
    });
  }
  writeState(statePath, samples);
  return { usage, unreadable: [...new Set(unreadable)] };
}
