import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestStatus } from '../drivers/monitoring/guest-states.ts';
import { guestStatuses } from '../drivers/monitoring/guest-states.ts';
import { stateReport } from '../drivers/opennebula/monitor/state-changes.ts';
import type { ContainerSummary } from '../drivers/engine/types.ts';
import { vmStatusFromSummary } from '../drivers/core/vm-status.ts';

const vm = (vmId: string, state: GuestStatus['state']): GuestStatus => ({ vmId, name: `one-${vmId}`, state });

function statePath(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dockvisor-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'vm-status.json');
}

test('the first report is a full sync; then only changes; a full sync again after the sync period', (t) => {
  const path = statePath(t);
  const first = stateReport(path, [vm('1', 'running'), vm('2', 'stopped')], 1000, 180);
  t.true(first.sync);
  t.deepEqual(first.changes, [vm('1', 'running'), vm('2', 'stopped')]);

  const quiet = stateReport(path, [vm('1', 'running'), vm('2', 'stopped')], 1005, 180);
  t.false(quiet.sync);
  t.deepEqual(quiet.changes, []);

  const changed = stateReport(path, [vm('1', 'suspended'), vm('2', 'stopped'), vm('3', 'running')], 1010, 180);
  t.deepEqual(changed.changes, [vm('1', 'suspended'), vm('3', 'running')]);

  const resync = stateReport(path, [vm('1', 'suspended')], 1180, 180);
  t.true(resync.sync);
  t.deepEqual(resync.changes, [vm('1', 'suspended')]);
});

test('a VM that disappears is reported missing once, after three runs without it', (t) => {
  const path = statePath(t);
  stateReport(path, [vm('1', 'running'), vm('2', 'running')], 1000, 180);
  t.deepEqual(stateReport(path, [vm('1', 'running')], 1005, 180).missing, []);
  t.deepEqual(stateReport(path, [vm('1', 'running')], 1010, 180).missing, []);
  t.deepEqual(stateReport(path, [vm('1', 'running')], 1015, 180).missing, [{ vmId: '2', name: 'one-2' }]);
  t.deepEqual(stateReport(path, [vm('1', 'running')], 1020, 180).missing, [], 'reported once');
});

test('a VM that comes back before it counts as missing is not reported missing', (t) => {
  const path = statePath(t);
  stateReport(path, [vm('1', 'running')], 1000, 180);
  stateReport(path, [], 1005, 180);
  const back = stateReport(path, [vm('1', 'running')], 1010, 180);
  t.deepEqual(back.missing, []);
  t.deepEqual(back.changes, []);
});

test('a damaged state file means a full sync, not a failure', (t) => {
  const path = statePath(t);
  writeFileSync(path, '{"lastSync": 12, "vms": ');
  t.true(stateReport(path, [vm('1', 'running')], 1000, 180).sync);
});

test('engine states map to VM states; containers in transition and other front-ends are left out', (t) => {
  const container = (name: string, State: string, Status: string, frontEnd = 'opennebula'): ContainerSummary => ({
    Id: name,
    Names: [`/${name}`],
    Image: 'x',
    State,
    Status,
    Labels: { 'io.dockvisor.owner': 'dockvisor', 'io.dockvisor.front-end': frontEnd, 'io.dockvisor.vm-id': name.slice(4) },
  });
  const statuses = guestStatuses(
    [
      container('one-1', 'running', 'Up 5 minutes'),
      container('one-2', 'paused', 'Up 5 minutes (Paused)'),
      container('one-3', 'exited', 'Exited (137) 2 minutes ago'),
      container('one-4', 'exited', 'Exited (0) 2 minutes ago'),
      container('one-5', 'exited', 'Exited (3) 1 second ago'),
      container('one-6', 'exited', 'Exited (255) 1 hour ago'),
      container('one-7', 'dead', 'Dead'),
      container('one-8', 'created', 'Created'),
      container('one-9', 'restarting', 'Restarting (1) 1 second ago'),
      container('nova-x', 'running', 'Up 1 minute', 'nova'),
    ].map(vmStatusFromSummary),
    'opennebula',
  );
  t.deepEqual(
    statuses.map((s) => `${s.name}:${s.state}`),
    ['one-1:running', 'one-2:suspended', 'one-3:stopped', 'one-4:stopped', 'one-5:failed', 'one-6:stopped', 'one-7:failed'],
  );
});
