import { performance } from 'node:perf_hooks';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from '../drivers/core/labels.ts';
import { LABEL_ONE_ROOT_DISK } from '../drivers/opennebula/one-labels.ts';
import { forEachBounded } from './pool.ts';
import type { RawEngine } from './raw-engine.ts';
import { BENCH_LABEL, BENCH_LABEL_VALUE, COMMAND, IMAGE, MONITOR_FIRST_VM_ID, MONITOR_MAX_VMS, MONITOR_MEMORY_BYTES } from './settings.ts';

export const fleetVmId = (n: number) => MONITOR_FIRST_VM_ID + n;
export const fleetName = (n: number) => `one-${fleetVmId(n)}`;
export const isFleetVmId = (id: string) => /^[0-9]+$/.test(id) && Number(id) >= MONITOR_FIRST_VM_ID && Number(id) < MONITOR_FIRST_VM_ID + MONITOR_MAX_VMS;

/**
 * Grows the fleet from `from` to `to` running containers: one-<id> made straight through the engine
 * (create + start, `concurrency` at a time), labelled the way the driver labels an OpenNebula VM whose
 * root disk (DISK_ID 0) is an image, so the probes take them for VMs and report their disk sizes too,
 * and with the bench label so a cleanup finds them. No NICs: network mode none.
 */
export async function growFleet(
  engine: RawEngine,
  from: number,
  to: number,
  concurrency: number,
  abort: AbortSignal,
  progress: (line: string) => void,
): Promise<void> {
  const indexes = Array.from({ length: to - from }, (_, i) => from + i);
  const started = performance.now();
  let done = 0;
  let lastReport = started;
  await forEachBounded(
    indexes,
    concurrency,
    async (n) => {
      const name = fleetName(n);
      const created = await engine.json<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, [201], {
        Image: IMAGE,
        Cmd: COMMAND,
        Labels: {
          [LABEL_OWNER]: OWNER_VALUE,
          [LABEL_FRONT_END]: 'opennebula',
          [LABEL_VM_ID]: String(fleetVmId(n)),
          [LABEL_ONE_ROOT_DISK]: '0',
          [BENCH_LABEL]: BENCH_LABEL_VALUE,
        },
        HostConfig: { NetworkMode: 'none', Memory: MONITOR_MEMORY_BYTES },
      });
      await engine.expect('POST', `/containers/${created.Id}/start`, [204]);
      done += 1;
      const now = performance.now();
      if (now - lastReport >= 10_000 || done === indexes.length) {
        lastReport = now;
        const seconds = (now - started) / 1000;
        progress(`monitor: fleet ${from + done}/${to} running (${done} created in ${seconds.toFixed(0)} s, ${(done / seconds).toFixed(1)}/s)`);
      }
    },
    abort,
  );
}

/** The fleet's containers the engine lists as running, by name. */
export async function runningFleet(engine: RawEngine): Promise<Set<string>> {
  const query = new URLSearchParams({ filters: JSON.stringify({ label: [`${BENCH_LABEL}=${BENCH_LABEL_VALUE}`], status: ['running'] }) });
  const list = await engine.json<{ Names: string[]; Labels: Record<string, string> | null }[]>('GET', `/containers/json?${query}`, [200]);
  return new Set(list.filter((c) => isFleetVmId(c.Labels?.[LABEL_VM_ID] ?? '')).map((c) => (c.Names[0] ?? '').replace(/^\//, '')));
}
