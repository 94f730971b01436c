import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmExit, VmStatus } from '../drivers/core/vm-status.ts';
import { knownExits, withExits } from '../drivers/monitoring/exit-facts.ts';
import { guestStateOf } from '../drivers/monitoring/guest-states.ts';

const vm = (name: string, phase: VmStatus['phase'], exitCode = 0): VmStatus => ({
  name,
  vmId: name.replace('one-', ''),
  frontEnd: 'opennebula',
  containerId: `id-${name}`,
  phase,
  running: phase === 'running',
  paused: false,
  pid: 0,
  exitCode,
  exitReason: '',
  oomKilled: false,
  startedAt: '',
  finishedAt: '',
  labels: {},
});
const exit = (exitCode: number, oomKilled = false): VmExit => ({ exitCode, oomKilled, error: '', finishedAt: '2026-11-30T00:00:00Z', lastLines: [] });

test('an OOM kill is a failure; SIGKILL without one is a stop, as a hard poweroff', (t) => {
  t.is(guestStateOf({ phase: 'exited', exitCode: 137, oomKilled: true }), 'failed');
  t.is(guestStateOf({ phase: 'exited', exitCode: 137, oomKilled: false }), 'stopped');
  t.is(guestStateOf({ phase: 'exited', exitCode: 3 }), 'failed');
});

test('each exit is looked up once, a VM running again is forgotten, and a run looks up at most 16', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'dvt-exits-')), 'exits.json');
  const asked: string[] = [];
  const lookUp = async (name: string) => (asked.push(name), exit(137, name === 'one-1'));
  const first = await knownExits(path, [vm('one-1', 'exited', 137), vm('one-2', 'running')], lookUp);
  t.deepEqual(asked, ['one-1']);
  t.is(withExits([vm('one-1', 'exited', 137)], first)[0]?.oomKilled, true);
  await knownExits(path, [vm('one-1', 'exited', 137)], lookUp);
  t.deepEqual(asked, ['one-1'], 'remembered');
  await knownExits(path, [vm('one-1', 'running')], lookUp);
  await knownExits(path, [vm('one-1', 'exited', 137)], lookUp);
  t.deepEqual(asked, ['one-1', 'one-1'], 'looked up again after it ran');
  const many = Array.from({ length: 40 }, (_, i) => vm(`one-${100 + i}`, 'exited', 0));
  asked.length = 0;
  t.is((await knownExits(path, many, lookUp)).size, 16);
  t.is(asked.length, 16);
});
