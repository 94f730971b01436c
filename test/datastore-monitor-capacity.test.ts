import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tarArchive } from '../drivers/core/tar-archive.ts';
import { runDs, TARBALL_DIR } from './helpers/datastore.ts';
import { recorded, repoRoot } from './helpers/paths.ts';
import { TestRegistry } from './helpers/registry.ts';
import { collect } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

// oned refuses an image larger than the datastore's FREE_MB (DATASTORE_CAPACITY_CHECK is on by default), and
// FREE_MB is whatever the DS monitor printed: the monitor must always print TOTAL_MB, FREE_MB and USED_MB.
const registry = new TestRegistry('ds-capacity-we', 5484);
const files = join(TARBALL_DIR, 'capacity-we');
const IMAGE_ID = testIds(import.meta.filename).vm(0);
const UNKNOWN_TOTAL_MB = 1024 * 1024 * 1024;

test.before(async () => {
  await registry.start();
  rmSync(files, { recursive: true, force: true });
  mkdirSync(files, { recursive: true });
  // About 3 MB that does not compress: the registry then holds a few MB.
  const rootfs = tarArchive([{ name: 'random', content: randomBytes(3_000_000) }]);
  writeFileSync(join(files, 'rootfs.tar'), rootfs);
  const cp = await runDs('cp', { imageId: IMAGE_ID, registry: registry.address, path: join(files, 'rootfs.tar') });
  if (cp.code !== 0) throw new Error(`cp: ${cp.stderr}`);
});

test.after.always(async () => {
  await registry.stop();
  rmSync(files, { recursive: true, force: true });
});

/** The recorded `monitor` message of image datastore 101, with these attributes added to its template. */
function recordedMonitorMessage(attributes: Record<string, string>): string {
  const xml = Buffer.from(readFileSync(join(recorded, 'ds-monitor.stdin.b64'), 'utf8'), 'base64').toString('utf8');
  const added = Object.entries(attributes)
    .map(([name, value]) => `<${name}><![CDATA[${value}]]></${name}>`)
    .join('');
  return Buffer.from(xml.replace('</TEMPLATE></DATASTORE>', `${added}</TEMPLATE></DATASTORE>`)).toString('base64');
}

async function monitor(attributes: Record<string, string>) {
  const child = spawn(join(repoRoot, 'remotes/datastore/dockvisor/monitor'), ['101'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end(recordedMonitorMessage(attributes));
  const result = await collect(child);
  const figures: Record<string, number> = {};
  for (const [, key, value] of result.stdout.matchAll(/^(\w+)=(\d+)$/gm)) figures[key!] = Number(value);
  return { ...result, figures };
}

/** What oned does with an image of `sizeMb` in this datastore: DATASTORE_CAPACITY_CHECK against FREE_MB. */
const onedLetsIn = (figures: Record<string, number>, sizeMb: number) => (figures.FREE_MB ?? 0) >= sizeMb;

test('with the registry alone, monitor prints all three figures, and they let any image in', async (t) => {
  const result = await monitor({ REGISTRY: registry.address });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(Object.keys(result.figures).sort(), ['FREE_MB', 'TOTAL_MB', 'USED_MB']);
  t.true(result.figures.USED_MB! >= 3, `the registry holds the image: ${result.stdout}`);
  t.is(result.figures.TOTAL_MB, UNKNOWN_TOTAL_MB);
  t.is(result.figures.FREE_MB, UNKNOWN_TOTAL_MB - result.figures.USED_MB!);
  t.true(onedLetsIn(result.figures, 500 * 1024), 'a 500 GB image is not refused');
});

test('REGISTRY_CAPACITY_MB is the total; what the images use is taken from it, never below 0', async (t) => {
  const declared = await monitor({ REGISTRY: registry.address, REGISTRY_CAPACITY_MB: '100' });
  t.is(declared.code, 0, declared.stderr);
  t.is(declared.figures.TOTAL_MB, 100);
  t.true(declared.figures.USED_MB! >= 3);
  t.is(declared.figures.FREE_MB, 100 - declared.figures.USED_MB!);
  t.true(onedLetsIn(declared.figures, 16));
  t.false(onedLetsIn(declared.figures, 200), 'an image larger than the declared capacity is refused by oned');

  const full = await monitor({ REGISTRY: registry.address, REGISTRY_CAPACITY_MB: '1' });
  t.like(full.figures, { TOTAL_MB: 1, FREE_MB: 0 });

  const wrong = await monitor({ REGISTRY: registry.address, REGISTRY_CAPACITY_MB: '10 GB' });
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /REGISTRY_CAPACITY_MB "10 GB" is not a whole number/);
});

test('REGISTRY_STORAGE_PATH: the storage filesystem gives the total and free space, before a declared capacity', async (t) => {
  const result = await monitor({ REGISTRY: registry.address, REGISTRY_STORAGE_PATH: registry.storage, REGISTRY_CAPACITY_MB: '100' });
  t.is(result.code, 0, result.stderr);
  const fs = statfsSync(registry.storage);
  t.is(result.figures.TOTAL_MB, Math.floor((fs.blocks * fs.bsize) / (1024 * 1024)));
  t.true(Math.abs(result.figures.FREE_MB! - Math.floor((fs.bavail * fs.bsize) / (1024 * 1024))) < 64, 'free space of that filesystem');
  t.true(result.figures.USED_MB! >= 3);
});

test('a REGISTRY_STORAGE_PATH dockvisor cannot see is said on stderr, and the next source answers', async (t) => {
  const missing = join(files, 'not-here');
  const declared = await monitor({ REGISTRY: registry.address, REGISTRY_STORAGE_PATH: missing, REGISTRY_CAPACITY_MB: '100' });
  t.is(declared.code, 0, declared.stderr);
  t.like(declared.figures, { TOTAL_MB: 100 });
  t.regex(declared.stderr, new RegExp(`REGISTRY_STORAGE_PATH ${missing} cannot be read \\(ENOENT\\)`));

  const unknown = await monitor({ REGISTRY: registry.address, REGISTRY_STORAGE_PATH: missing });
  t.is(unknown.code, 0, unknown.stderr);
  t.like(unknown.figures, { TOTAL_MB: UNKNOWN_TOTAL_MB });
});
