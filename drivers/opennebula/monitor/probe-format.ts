import type { GuestState, GuestStatus } from '../../monitoring/guest-states.ts';
import type { GuestUsage } from '../../monitoring/guest-usage.ts';
import type { StateReport } from '../../monitoring/state-changes.ts';

/** OpenNebula's names for the states its core acts on. */
export const ONE_STATE: Record<GuestState, string> = {
  running: 'RUNNING',
  suspended: 'SUSPENDED',
  stopped: 'POWEROFF',
  failed: 'FAILURE',
};

/** The 5.x poll letters: active, paused, error, deleted (gone or stopped). */
export const POLL_STATE: Record<GuestState, string> = { running: 'a', suspended: 'p', stopped: 'd', failed: 'e' };

export const MISSING_STATE = 'POWEROFF';

export function stateLines(report: StateReport): string {
  const lines: string[] = [];
  if (report.sync) lines.push('SYNC_STATE=yes', `MISSING_STATE=${MISSING_STATE}`);
  for (const vm of report.changes) lines.push(vmStateLine(vm.vmId, vm.name, ONE_STATE[vm.state]));
  for (const vm of report.missing) lines.push(vmStateLine(vm.vmId, vm.name, MISSING_STATE));
  return lines.map((line) => `${line}\n`).join('');
}

function vmStateLine(vmId: string, name: string, state: string): string {
  return `VM = [ ID="${vmId}", DEPLOY_ID="${name}", STATE="${state}" ]`;
}

/** The keys OpenNebula reads from a VM's MONITOR attribute, as `KEY="value"` lines. */
export function monitorKeys(usage: GuestUsage): string {
  const keys: [string, string | number][] = [
    ['CPU', usage.cpuPercent.toFixed(2)],
    ['MEMORY', usage.memoryKb],
    ['NETRX', usage.netRx],
    ['NETTX', usage.netTx],
    ['DISKRDBYTES', usage.diskReadBytes],
    ['DISKWRBYTES', usage.diskWriteBytes],
    ['DISKRDIOPS', usage.diskReadOps],
    ['DISKWRIOPS', usage.diskWriteOps],
  ];
  return keys.map(([key, value]) => `${key}="${value}"\n`).join('');
}

/** A disk's size as OpenNebula's datastore monitoring reports it, in MB. */
export function diskSizeLine(diskId: string, bytes: number): string {
  return `DISK_SIZE=[ID=${diskId},SIZE=${Math.round(bytes / (1024 * 1024))}]\n`;
}

export function monitorLine(vm: { vmId: string; name: string }, monitor: string): string {
  return `VM = [ ID="${vm.vmId}", DEPLOY_ID="${vm.name}", MONITOR="${Buffer.from(monitor).toString('base64')}" ]\n`;
}

/** The 5.x one-shot format: `STATE=a CPU=... MEMORY=... NETRX=... NETTX=...`. */
export function pollString(status: GuestStatus, usage: GuestUsage | undefined): string {
  const state = `STATE=${POLL_STATE[status.state]}`;
  if (!usage) return state;
  return `${state} CPU=${usage.cpuPercent.toFixed(2)} MEMORY=${usage.memoryKb} NETRX=${usage.netRx} NETTX=${usage.netTx}`;
}

export function keyLines(pairs: [string, string | number | undefined][]): string {
  return pairs
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => (typeof value === 'number' ? `${key}=${value}\n` : `${key}="${String(value).replace(/"/g, '')}"\n`))
    .join('');
}
