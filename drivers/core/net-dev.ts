import { readFileSync } from 'node:fs';

/** One interface's counters since it was made, as the kernel keeps them. */
export interface NetDevCounter {
  rx: number;
  tx: number;
  rxPackets: number;
  txPackets: number;
  rxErrors: number;
  txErrors: number;
  rxDrop: number;
  txDrop: number;
}

export type NetDevCounters = Map<string, NetDevCounter>;

/** Each interface of a process's network namespace with its received and sent bytes (/proc/<pid>/net/dev). */
export function netDevCounters(pid: number): NetDevCounters {
  return parseNetDev(readFileSync(netDevPath(pid), 'utf8'));
}

export function netDevPath(pid: number): string {
  return `/proc/${pid}/net/dev`;
}

/** Columns: receive bytes packets errs drop fifo frame compressed multicast, then transmit bytes packets errs drop... */
export function parseNetDev(text: string): NetDevCounters {
  const counters: NetDevCounters = new Map();
  for (const line of text.split('\n').slice(2)) {
    const [name, values] = line.split(':');
    if (!name?.trim() || values === undefined) continue;
    const field = (index: number) => Number(values.trim().split(/\s+/)[index]) || 0;
    counters.set(name.trim(), {
      rx: field(0),
      rxPackets: field(1),
      rxErrors: field(2),
      rxDrop: field(3),
      tx: field(8),
      txPackets: field(9),
      txErrors: field(10),
      txDrop: field(11),
    });
  }
  return counters;
}
