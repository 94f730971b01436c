import type { GuestState, GuestStatus } from '../../monitoring/guest-states.ts';
import { readState, writeState } from '../../monitoring/state-file.ts';

interface Remembered {
  lastSync: number;
  vms: Record<string, { vmId: string; state: GuestState; missing: number }>;
}

export interface StateReport {
  /** A full report: every VM is listed, and the front-end treats those not listed as missing. */
  sync: boolean;
  changes: GuestStatus[];
  /** VMs gone for `missingRuns` runs in a row, reported once as missing. */
  missing: { vmId: string; name: string }[];
}

/**
 * Reports VM states the way OpenNebula's probes do: only changes between syncs, everything every
 * `syncSeconds`, and a VM that vanished only after it was absent `missingRuns` times in a row.
 */
export function stateReport(statePath: string, current: GuestStatus[], now: number, syncSeconds: number, missingRuns = 3): StateReport {
  const remembered = readState<Remembered>(statePath, { lastSync: 0, vms: {} });
  const next: Remembered = { lastSync: remembered.lastSync, vms: {} };
  const report: StateReport = { sync: false, changes: [], missing: [] };

  if (!remembered.lastSync || now >= remembered.lastSync + syncSeconds || now < remembered.lastSync) {
    report.sync = true;
    report.changes = current;
    next.lastSync = now;
    for (const vm of current) next.vms[vm.name] = { vmId: vm.vmId, state: vm.state, missing: 0 };
  } else {
    for (const vm of current) {
      if (remembered.vms[vm.name]?.state !== vm.state) report.changes.push(vm);
      next.vms[vm.name] = { vmId: vm.vmId, state: vm.state, missing: 0 };
    }
    for (const [name, vm] of Object.entries(remembered.vms)) {
      if (next.vms[name]) continue;
      if (vm.missing + 1 >= missingRuns) report.missing.push({ vmId: vm.vmId, name });
      else next.vms[name] = { ...vm, missing: vm.missing + 1 };
    }
  }
  writeState(statePath, next);
  return report;
}
