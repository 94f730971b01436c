import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { netDevCounters } from '../core/net-dev.ts';
import type { CgroupLayout } from './cgroup-layout.ts';

/** What a container's cgroups say it used, cumulative since it started (memory: now). */
export interface CgroupUsage {
  cpuNanoseconds: number;
  memoryBytes: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  diskReadOps: number;
  diskWriteOps: number;
  /** The container's init process, to read its network namespace's counters. */
  pid?: number;
}

/** Reads one container's usage straight from its cgroup files; undefined when it has no cgroup (not running). */
export function readCgroupUsage(layout: CgroupLayout, id: string): CgroupUsage | undefined {
  return layout.version === 2 ? readV2(layout, id) : readV1(layout, id);
}

function readV1(layout: CgroupLayout, id: string): CgroupUsage | undefined {
  const cpu = layout.containerDir(id, 'cpuacct');
  const memory = layout.containerDir(id, 'memory');
  if (!cpu || !memory) return undefined;
  const blkio = layout.containerDir(id, 'blkio');
  const memoryStat = keyValues(read(join(memory, 'memory.stat')));
  const bytes = blkio ? blkioTotals(readFirst(blkio, ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes'])) : undefined;
  const ops = blkio ? blkioTotals(readFirst(blkio, ['blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_serviced'])) : undefined;
  return {
    cpuNanoseconds: Number(read(join(cpu, 'cpuacct.usage'))),
    memoryBytes: Math.max(0, Number(read(join(memory, 'memory.usage_in_bytes'))) - (memoryStat.total_inactive_file ?? 0)),
    diskReadBytes: bytes?.read ?? 0,
    diskWriteBytes: bytes?.write ?? 0,
    diskReadOps: ops?.read ?? 0,
    diskWriteOps: ops?.write ?? 0,
    pid: firstPid(read(join(cpu, 'cgroup.procs'))),
  };
}

function readV2(layout: CgroupLayout, id: string): CgroupUsage | undefined {
  const dir = layout.containerDir(id, 'memory');
  if (!dir) return undefined;
  const cpuStat = keyValues(read(join(dir, 'cpu.stat')));
  const memoryStat = keyValues(read(join(dir, 'memory.stat')));
  const io = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
  for (const line of readOptional(join(dir, 'io.stat')).split('\n')) {
    for (const field of line.split(' ').slice(1)) {
      const [key, value] = field.split('=');
      if (key && key in io) io[key as keyof typeof io] += Number(value) || 0;
    }
  }
  return {
    cpuNanoseconds: (cpuStat.usage_usec ?? 0) * 1000,
    memoryBytes: Math.max(0, Number(read(join(dir, 'memory.current'))) - (memoryStat.inactive_file ?? 0)),
    diskReadBytes: io.rbytes,
    diskWriteBytes: io.wbytes,
    diskReadOps: io.rios,
    diskWriteOps: io.wios,
    pid: firstPid(readOptional(join(dir, 'cgroup.procs'))),
  };
}

/** Received and sent bytes of every interface but loopback in a process's network namespace (the VM's view). */
export function readNetworkCounters(pid: number | undefined): { rx: number; tx: number } {
  const total = { rx: 0, tx: 0 };
  if (!pid) return total;
  let counters: Map<string, { rx: number; tx: number }>;
  try {
    counters = netDevCounters(pid);
  } catch {
    return total; // the process ended between the cgroup read and this one
  }
  for (const [name, { rx, tx }] of counters) {
    if (name === 'lo') continue;
    total.rx += rx;
    total.tx += tx;
  }
  return total;
}

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readFirst(dir: string, names: string[]): string {
  for (const name of names) {
    const text = readOptional(join(dir, name));
    if (text) return text;
  }
  return '';
}

function keyValues(text: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) values[key] = Number(value);
  }
  return values;
}

/** Sums "major:minor Read|Write N" lines over devices (the "Total" lines are left out). */
function blkioTotals(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [, op, value] = line.split(' ');
    if (op === 'Read') read += Number(value) || 0;
    else if (op === 'Write') write += Number(value) || 0;
  }
  return { read, write };
}

function firstPid(text: string): number | undefined {
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
