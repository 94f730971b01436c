import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRecords } from '../drivers/core/command-records.ts';

const ref = (vmId: string) => ({ frontEnd: 'opennebula' as const, vmId, containerName: `one-${vmId}` });
const records = () => new CommandRecords(() => mkdtempSync(join(tmpdir(), 'dvt-commands-')));

test('a finished command is handed over once', (t) => {
  const store = records();
  store.write('one-1', { ref: ref('1'), execId: 'e1', watcherPid: process.pid, pid: 42, ended: { exitCode: 3, stdout: 'aGk=', stderr: '' } });
  t.deepEqual(store.takeFinished(), [{ ref: ref('1'), pid: 42, status: 'done', exitCode: 3, stdout: 'aGk=', stderr: '' }]);
  t.deepEqual(store.takeFinished(), []);
});

test('a running command whose watcher lives is not reported; one whose watcher died is reported as an error', (t) => {
  const store = records();
  store.write('one-1', { ref: ref('1'), execId: 'e1', watcherPid: process.pid });
  store.write('one-2', { ref: ref('2'), execId: 'e2', watcherPid: 2 ** 22 + 1 });
  const [dead, ...rest] = store.takeFinished();
  t.deepEqual(rest, []);
  t.is(dead?.ref.vmId, '2');
  t.is(dead?.status, 'error');
  t.regex(Buffer.from(dead?.stderr ?? '', 'base64').toString(), /left without its watcher/);
});

test('one report carries output up to its budget, and always one command; the rest waits for the next', (t) => {
  const store = records();
  const big = 'A'.repeat(1000);
  for (const id of ['1', '2', '3'])
    store.write(`one-${id}`, { ref: ref(id), execId: id, watcherPid: process.pid, ended: { exitCode: 0, stdout: big, stderr: '' } });
  t.is(store.takeFinished(500).length, 1);
  t.is(store.takeFinished(2000).length, 2);
  t.is(store.takeFinished(2000).length, 0);
});
