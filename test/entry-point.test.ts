import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

test("an executable's whole output reaches a reader that is slower than the 64 KB pipe", (t) => {
  const entry = join(import.meta.dirname, 'fixtures/big-output-entry.ts');
  // The reader starts late, as monitord's client may: the writer must not exit with output still queued.
  const count = execFileSync('sh', ['-c', `node --import tsx "${entry}" | (sleep 0.3; wc -c)`], { encoding: 'utf8' });
  t.is(Number(count.trim()), 300_001);
});
