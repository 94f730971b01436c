import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostKeySha256Of } from '../drivers/hosts/host-engine.ts';
import { HostStore, defaultStoreDir, type HostRecord } from '../drivers/hosts/host-store.ts';

function store(t: { teardown(fn: () => void): void }): HostStore {
  const root = mkdtempSync(join(tmpdir(), 'dockvisor-hosts-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return new HostStore(join(root, 'hosts'));
}

const record = (name: string): HostRecord => ({
  name,
  ssh: { user: 'root', address: '198.18.70.11', port: 22, identityFile: '/root/.ssh/id_ed25519' },
  steps: { connect: { done: true, at: '2026-11-23T00:00:00Z', detail: 'host key recorded' } },
  createdAt: '2026-11-23T00:00:00Z',
  updatedAt: '2026-11-23T00:00:00Z',
});

test('records are kept one file a host, 0600 in a 0700 directory, and read back', (t) => {
  const hosts = store(t);
  hosts.save(record('node-b'));
  hosts.save(record('node-a'));
  t.is(statSync(hosts.dir).mode & 0o777, 0o700);
  for (const file of readdirSync(hosts.dir)) t.is(statSync(join(hosts.dir, file)).mode & 0o777, 0o600, file);
  t.deepEqual(
    hosts.list().map((h) => h.name),
    ['node-a', 'node-b'],
  );
  t.is(hosts.get('node-a').ssh.address, '198.18.70.11');
  hosts.remove('node-a');
  t.is(hosts.find('node-a'), undefined);
  t.deepEqual(readdirSync(hosts.dir), ['node-b.json'], 'no staging file is left behind');
});

test('names that try to leave the store or inject are refused', (t) => {
  const hosts = store(t);
  for (const name of ['../evil', 'a/b', '', '-rf', 'x'.repeat(64), 'a b', 'host;reboot']) {
    t.throws(() => hosts.save(record(name)), { message: /must be letters, digits, dots and dashes/ }, name);
  }
});

test('a damaged record is an error naming its file, not a guess', (t) => {
  const hosts = store(t);
  hosts.save(record('node-a'));
  writeFileSync(join(hosts.dir, 'node-a.json'), '{"name": "node-a", ');
  t.throws(() => hosts.get('node-a'), { message: /host record .*node-a\.json cannot be read/ });
  writeFileSync(join(hosts.dir, 'node-a.json'), '{"name": "other", "ssh": {"address": "x"}}');
  t.throws(() => hosts.list(), { message: /is not a dockvisor host record/ });
});

test("the store lives under the user's config directory", (t) => {
  t.is(defaultStoreDir({ XDG_CONFIG_HOME: '/home/op/.config' }), '/home/op/.config/dockvisor/hosts');
});

test('a record written when the key was pinned twice reads with the key alone, and the engine checks its fingerprint', (t) => {
  const hosts = store(t);
  const hostKey = `ssh-ed25519 ${Buffer.from('a host key').toString('base64')}`;
  const sha256 = createHash('sha256').update('a host key').digest('base64').replace(/=+$/, '');
  mkdirSync(hosts.dir, { recursive: true });
  writeFileSync(join(hosts.dir, 'old.json'), JSON.stringify({ ...record('old'), ssh: { ...record('old').ssh, hostKey, hostKeySha256: sha256 } }));
  const read = hosts.get('old');
  t.is(read.ssh.hostKey, hostKey);
  t.false('hostKeySha256' in read.ssh);
  t.is(hostKeySha256Of(hostKey), sha256);
});
