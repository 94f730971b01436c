import { readFileSync } from 'node:fs';

export type NetDevCounters = Map<string, { rx: number; tx: number }>;

/** Each interface of a process's network namespace with its received and sent bytes (/proc/<pid>/net/dev). */
export function netDevCounters(pid: number): NetDevCounters {
  return parseNetDev(readFileSync(netDevPath(pid), 'utf8'));
}

export function netDevPath(pid: number): string {
  return `/proc/${pid}/net/dev`;
}

export function parseNetDev(text: string): NetDevCounters {
  const counters: NetDevCounters = new Map();
  for (const line of text.split('\n').slice(2)) {
    const [name, values] = line.split(':');
    if (!name?.trim() || values === undefined) continue;
    const fields = values.trim().split(/\s+/);
    counters.set(name.trim(), { rx: Number(fields[0]) || 0, tx: Number(fields[8]) || 0 });
  }
  return counters;
}
