import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { probesRoot, runProbe } from './helpers/monitord-client.ts';
import { recorded } from './helpers/paths.ts';
import { createTestUser, removeTestUser, type TestUser } from './helpers/test-user.ts';
import { testConfigPath } from './helpers/vmm.ts';

// The probes' state directory lies in /var/tmp, shared by every user dockvisor runs as on a host: oneadmin's
// probes, root's demo and tests. Whoever runs first, the others must still be able to keep their state there,
// and nobody may make another user's probes write through a link planted in /var/tmp.
const USER = 'dvtwe';
const shared = '/var/tmp/dvt-we-state';
const trap = '/var/tmp/dvt-we-trap';
const config = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');
const env = { ...process.env, DOCKVISOR_CONFIG: testConfigPath({ stateDir: shared }, 'probes-we-state.json') };
const PROBES = ['host/monitor/dockvisor_usage.sh', 'vm/status/dockvisor_state.sh', 'vm/monitor/dockvisor_usage.sh'];
let user: TestUser;

const forget = () => {
  for (const path of [shared, trap]) rmSync(path, { recursive: true, force: true });
};
const asUser = (command: string, ...args: string[]) => execFileSync(command, args, { uid: user.uid, gid: user.gid });
const mode = (path: string) => lstatSync(path).mode & 0o7777;
const owner = (path: string) => lstatSync(path).uid;

async function probesSucceed(t: { is: (a: unknown, b: unknown, m?: string) => void }, who?: TestUser): Promise<void> {
  for (const probe of PROBES) {
    const result = await runProbe(join(probesRoot, probe), config, env, '1', who);
    t.is(result.code, 0, `${probe} as ${who?.name ?? 'root'}: ${result.stderr}`);
  }
}

test.before(() => {
  forget();
  user = createTestUser(USER);
});

test.after.always(() => {
  forget();
  removeTestUser(USER);
});

test.serial('probes run as root first, then as the driver user: both succeed, each keeping its state in a directory of its own', async (t) => {
  forget();
  await probesSucceed(t);
  await probesSucceed(t, user);
  await probesSucceed(t, user);

  t.is(owner(shared), 0);
  t.is(mode(shared), 0o1777, 'shared like /tmp: anyone makes a directory there, nobody removes another one');
  for (const [uid, dir] of [
    [0, join(shared, '0')],
    [user.uid, join(shared, String(user.uid))],
  ] as const) {
    t.is(owner(dir), uid);
    t.is(mode(dir), 0o700);
    t.true(
      readdirSync(dir).some((name) => name.startsWith('vm-status-host-1')),
      `${dir} holds its user's state`,
    );
  }
});

test.serial('the driver user first, then root: root makes the shared directory its own and both keep working', async (t) => {
  forget();
  await probesSucceed(t, user);
  t.is(owner(shared), user.uid);
  await probesSucceed(t);
  t.is(owner(shared), 0, 'a directory others keep state in belongs to root, as /tmp does');
  t.is(mode(shared), 0o1777);
  await probesSucceed(t, user);
});

test.serial('a link planted where the state directory goes is never followed, nor a directory another user made for root', async (t) => {
  forget();
  asUser('mkdir', trap);
  asUser('ln', '-s', trap, shared);
  let result = await runProbe(join(probesRoot, PROBES[0]!), config, env);
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`state directory ${shared} is a symbolic link; refused`));
  t.deepEqual(readdirSync(trap), [], 'nothing was written through the link');

  forget();
  asUser('mkdir', '-p', trap, join(shared));
  asUser('ln', '-s', trap, join(shared, '0'));
  result = await runProbe(join(probesRoot, PROBES[0]!), config, env);
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`state directory ${shared}/0 is a symbolic link; refused`));
  t.deepEqual(readdirSync(trap), []);

  forget();
  asUser('mkdir', '-p', join(shared, '0'));
  result = await runProbe(join(probesRoot, PROBES[0]!), config, env);
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`state directory ${shared}/0 belongs to uid ${user.uid}, not to uid 0; refused`));
  t.deepEqual(readdirSync(join(shared, '0')), []);
});

test.serial('a state directory an earlier dockvisor left root-only: the driver user is told what to do, and root opens it up on its next run', async (t) => {
  forget();
  execFileSync('mkdir', ['-m', '0700', shared]);
  let refused = await runProbe(join(probesRoot, PROBES[0]!), config, env, '1', user);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /closed to uid/);
  execFileSync('chmod', ['0755', shared]);
  refused = await runProbe(join(probesRoot, PROBES[0]!), config, env, '1', user);
  t.is(refused.code, 1);
  t.regex(
    refused.stderr,
    new RegExp(`state directory ${shared} is closed to uid ${user.uid}: make it 1777 \\(chmod 1777 ${shared}\\), or run any dockvisor probe as root once`),
  );
  await probesSucceed(t);
  await probesSucceed(t, user);
});
