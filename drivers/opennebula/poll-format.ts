import type { VmLifecycle } from '../core/vm-lifecycle.ts';
import type { VmSpec } from '../core/vm-spec.ts';

/** The OpenNebula 5.x poll line: STATE (a, p, e, d), CPU (% of one CPU), MEMORY (KB), NETRX, NETTX (bytes). */
export async function pollLine(vms: VmLifecycle, spec: VmSpec): Promise<string> {
  const usage = await vms.usage(spec);
  if (usage.state === 'missing' || usage.state === 'stopped') return `STATE=${usage.failed ? 'e' : 'd'}`;
  const state = usage.state === 'paused' ? 'p' : 'a';
  return `STATE=${state} CPU=${usage.cpuPercent.toFixed(2)} MEMORY=${Math.round(usage.memoryBytes / 1024)} NETRX=${usage.netRx} NETTX=${usage.netTx}`;
}
