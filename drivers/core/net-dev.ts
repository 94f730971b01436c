import { readFileSync } from 'node:fs';

/** Each interface of a process's network namespace with its received and sent bytes (/proc/<pid>/net/dev). */
export function netDevCounters(pid: number): Map<string, { rx: number; tx: number }> {
  const counters = new Map<string, { rx: number; tx: number }>();
  for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
    const [name, values] = line.split(':');
    if (!name?.trim() || values === undefined) continue;
    const fields = values.trim().split(/\s+/);
    counters.set(name.trim(), { rx: Number(fields[0]) || 0, tx: Number(fields[8]) || 0 });
  }
  return counters;
}
