import type { FinishedCommand } from '../../core/command-records.ts';
import type { VmExit, VmHealth } from '../../core/vm-status.ts';
import type { GuestState, GuestStatus } from '../../monitoring/guest-states.ts';
import type { GuestUsage } from '../../monitoring/guest-usage.ts';
import type { StateReport } from './state-changes.ts';

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

/** `VM = [ ID, PID, STATUS, RETURN_CODE, STDOUT, STDERR ]`, the output base64, as kvm_qemu_ga.rb prints a finished command. */
export function executionLine(command: FinishedCommand): string {
  return (
    `VM = [ ID=${quoted(command.ref.vmId)}, PID=${quoted(String(command.pid))}, STATUS=${quoted(command.status === 'done' ? 'DONE' : 'ERROR')},` +
    ` RETURN_CODE=${quoted(String(command.exitCode))}, STDOUT=${quoted(command.stdout)}, STDERR=${quoted(command.stderr)} ]`
  );
}

function vmStateLine(vmId: string, name: string, state: string): string {
  return `VM = [ ID=${quoted(vmId)}, DEPLOY_ID=${quoted(name)}, STATE=${quoted(state)} ]`;
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
  return keys.map(([key, value]) => `${key}=${quoted(value)}\n`).join('');
}

/** HEALTH: what the image's HEALTHCHECK last found (starting, healthy, unhealthy); nothing without one. */
export function healthKeys(health: VmHealth | undefined): string {
  return keyLines([['HEALTH', health]]);
}

/**
 * How a stopped VM's last run ended: EXIT_CODE, EXIT_REASON (exited, oom, start-failed), LAST_OUTPUT (its last
 * lines, joined by " | "), and for a failure ERROR, one line saying so as the VM's monitoring shows it.
 */
export function exitKeys(exit: VmExit, state: GuestState): string {
  const reason = exit.oomKilled ? 'oom' : exit.error ? 'start-failed' : 'exited';
  const output = exit.lastLines.join(' | ').slice(-EXIT_TEXT_LIMIT);
  const what = exit.oomKilled
    ? 'killed by the kernel for want of memory (out of memory)'
    : exit.error
      ? `could not start: ${exit.error}`
      : `exited by itself with code ${exit.exitCode}`;
  return keyLines([
    ['EXIT_CODE', exit.exitCode],
    ['EXIT_REASON', reason],
    ['LAST_OUTPUT', output],
    ['ERROR', state === 'failed' ? `${what}${output ? `; last output: ${output}` : ''}`.slice(0, EXIT_TEXT_LIMIT) : undefined],
  ]);
}

const EXIT_TEXT_LIMIT = 1024;

/** A disk's size as OpenNebula's datastore monitoring reports it, in MB. */
export function diskSizeLine(diskId: string, bytes: number): string {
  return `DISK_SIZE=[ID=${word(diskId)},SIZE=${number(Math.round(bytes / (1024 * 1024)))}]\n`;
}

/**
 * One path the VM's image declares as VOLUME: the named volume that keeps it and its size in MB (unknown until
 * first measured). A vector like DISK_SIZE, so that oned keeps one per volume in the VM's monitoring.
 */
export function imageVolumeLine(volume: { path: string; volume: string }, bytes: number | undefined): string {
  const size = bytes === undefined ? '' : `,SIZE=${number(Math.round(bytes / (1024 * 1024)))}`;
  return `IMAGE_VOLUME=[PATH=${quoted(volume.path)},NAME=${quoted(volume.volume)}${size}]\n`;
}

export function monitorLine(vm: { vmId: string; name: string }, monitor: string): string {
  return `VM = [ ID=${quoted(vm.vmId)}, DEPLOY_ID=${quoted(vm.name)}, MONITOR=${quoted(Buffer.from(monitor).toString('base64'))} ]\n`;
}

/** One VM of the 5.x poll output: `VM=[ID=<id>,DEPLOY_ID=<name>,POLL="<poll string>"]`. */
export function pollVmLine(vm: { vmId: string; name: string }, poll: string): string {
  return `VM=[ID=${word(vm.vmId)},DEPLOY_ID=${word(vm.name)},POLL=${quoted(poll)}]\n`;
}

/** A datastore's capacity in SYSTEM_HOST, in MB. */
export function datastoreLine(id: number, fs: { usedMb: number; totalMb: number; freeMb: number }): string {
  return `DS = [ ID = ${number(id)}, USED_MB = ${number(fs.usedMb)}, TOTAL_MB = ${number(fs.totalMb)}, FREE_MB = ${number(fs.freeMb)} ]\n`;
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
    .map(([key, value]) => `${key}=${typeof value === 'number' ? number(value) : quoted(value!)}\n`)
    .join('');
}

/*
 * Every value a probe prints goes through one of these three. monitord reads the output as an OpenNebula
 * template, where a newline, a double quote, a backslash (which escapes the closing quote) or a bracket
 * in a value could end it early and start an attribute or a VM line of the host's choosing.
 */

/** Text as one double-quoted value: control characters become spaces, quotes, backslashes and brackets go. */
function quoted(value: string | number): string {
  return `"${String(value)
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/["\\[\]]/g, '')}"`;
}

/** A bare value where the format has one: letters, digits and `_ . : -` as they are, anything else quoted. */
function word(value: string): string {
  return /^[A-Za-z0-9_.:-]+$/.test(value) ? value : quoted(value);
}

function number(value: number): string {
  return Number.isFinite(value) ? String(value) : '0';
}
