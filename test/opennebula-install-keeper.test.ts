import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockvisorOpennebula, fakeFrontEnd, type FakeFrontEnd } from './helpers/front-end.ts';
import { repoRoot } from './helpers/paths.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';
import { testIds } from './helpers/test-ids.ts';
import { createTestUser, removeTestUser, type TestUser } from './helpers/test-user.ts';
import { collect, startExecutable } from './helpers/vmm.ts';

// The connection keeper as `dockvisor opennebula install` starts it on a front-end without systemd: as the owner of
// the remotes (oned's user, here a non-root test user), on the socket of the installed transfer config, replaced
// when the remotes change, left alone when something else holds its socket. Its host is this machine's engine,
// reached through an sshd on loopback.
const ids = testIds(import.meta.filename);
const VM = ids.vm(0);
const USER = 'dvtkeep';
const HOST = 'dvt-keeper-host';
const OLDER = '0.0.1+older-remotes';
let user: TestUser;
let sshd: TestSshd;
let fe: FakeFrontEnd;
let home = '';
let socket = '';
let olderPackage = '';
const started = new Set<number>();

test.before(async () => {
  user = createTestUser(USER);
  sshd = await startSshd('install-keeper');
  fe = fakeFrontEnd('7.4.0');
  chmodSync(fe.dir, 0o755);
  home = join(fe.dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  // The keeper's socket directory is made only inside its user's home: this is that home.
  execFileSync('usermod', ['--home', home, USER]);
  const key = join(home, 'host.key');
  writeFileSync(key, sshd.privateKey, { mode: 0o600 });
  socket = join(home, '.dockvisor/keeper.sock');
  // The admin's transfer config, there before the install (which places it only when missing).
  const tmConfig = join(fe.remotes, 'etc/tm/dockvisor/dockvisor.conf');
  mkdirSync(join(fe.remotes, 'etc/tm/dockvisor'), { recursive: true });
  const hosts = { [HOST]: { address: '127.0.0.1', port: sshd.port, user: 'root', privateKeyPath: key, hostKeySha256: sshd.hostKeySha256 } };
  writeFileSync(tmConfig, JSON.stringify({ hosts, engineTimeoutMs: 20_000, connectionKeeper: socket }));
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, fe.remotes, home]);
  olderPackage = packageOfOtherRemotes();
});

test.after.always(async () => {
  for (const pid of started) await gone(pid);
  await sshd?.stop();
  removeTestUser(USER);
  fe?.cleanup();
  if (olderPackage) rmSync(olderPackage, { recursive: true, force: true });
});

/** This checkout's package (CLI bundle and remotes) with another remotes VERSION, as an older release would be. */
function packageOfOtherRemotes(): string {
  const dir = join(fe.dir, 'older-package');
  mkdirSync(join(dir, 'build'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
  cpSync(join(repoRoot, 'remotes'), join(dir, 'remotes'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(repoRoot, 'build/cli'), join(dir, 'build/cli'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'remotes/lib/dockvisor/VERSION'), `${OLDER}\n`);
  return dir;
}

function install(extra: string[] = [], cli = join(repoRoot, 'build/cli/cli.mjs')) {
  const run = spawnSync(process.execPath, [cli, 'opennebula', 'install', ...fe.flags, '--one-version', '7.4.0', ...extra], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const pid = /connection keeper: remotes \S+ started as \S+ on \S+ \(pid (\d+)/.exec(run.stdout)?.[1];
  if (pid) started.add(Number(pid));
  return { ...run, pid: pid === undefined ? undefined : Number(pid) };
}

const keeperLine = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('connection keeper'));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const installedVersion = () => readFileSync(join(fe.remotes, 'lib/dockvisor/VERSION'), 'utf8').trim();

/** Waits (10 s at most) for a keeper this file started to end; kills it when it has not. */
async function gone(pid: number): Promise<boolean> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  process.kill(pid, 'SIGKILL');
  return false;
}

/** A transfer action of the installed remotes, as oned runs it: as its user, with the installed transfer config. */
function transfer(action: string, argv: string[]) {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home };
  return collect(startExecutable(join(fe.remotes, 'tm/dockvisor', action), argv, '', { uid: user.uid, gid: user.gid, env }));
}

test.serial('install starts the keeper of the placed remotes as their owner; a newer install replaces it; the actions use it', async (t) => {
  const older = install([], join(olderPackage, 'build/cli/cli.mjs'));
  t.is(older.status, 0, older.stderr);
  t.truthy(older.pid, older.stdout);
  t.deepEqual(keeperLine(older.stdout), [
    `connection keeper: remotes ${OLDER} started as ${USER} on ${socket} (pid ${older.pid}, log ${join(home, '.dockvisor/tm-keeper.log')})`,
  ]);
  t.is(uidOf(older.pid!), user.uid);
  t.is(statSync(socket).uid, user.uid);

  const newer = install();
  t.is(newer.status, 0, newer.stderr);
  const version = installedVersion();
  t.not(version, OLDER);
  t.deepEqual(keeperLine(newer.stdout), [
    `connection keeper: the one of other remotes on ${socket} stepped down`,
    `connection keeper: remotes ${version} started as ${USER} on ${socket} (pid ${newer.pid}, log ${join(home, '.dockvisor/tm-keeper.log')})`,
  ]);
  t.true(await gone(older.pid!), 'the keeper of the older remotes ended');
  t.true(alive(newer.pid!));
  t.is(uidOf(newer.pid!), user.uid);

  // A context disk written and the VM's things deleted on the host, by actions of the installed remotes.
  const script = join(home, 'context.sh');
  writeFileSync(script, "DVT_KEEPER='yes'\n");
  chownSync(script, user.uid, user.gid);
  const context = await transfer('context', [script, `${HOST}:/var/lib/one//datastores/100/${VM}/disk.1`, String(VM), '100']);
  t.is(context.code, 0, context.stderr);
  t.true(sshd.establishedConnections() >= 1, "the keeper's SSH connection stays once the action ended");
  const deleted = await transfer('delete', [`${HOST}:/var/lib/one//datastores/100/${VM}`, String(VM), '100']);
  t.is(deleted.code, 0, deleted.stderr);

  const again = install();
  t.deepEqual(keeperLine(again.stdout), [`connection keeper: remotes ${version} already runs on ${socket}, left running`]);
  t.true(alive(newer.pid!));

  const removed = dockvisorOpennebula(['uninstall', ...fe.flags, '--one-version', '7.4.0']);
  t.is(removed.status, 0, removed.stderr);
  t.regex(removed.stdout, new RegExp(`^connection keeper on ${socket}: stopped$`, 'm'));
  t.true(await gone(newer.pid!));
  const served = [...readFileSync(join(home, '.dockvisor/tm-keeper.log'), 'utf8').matchAll(/stopped after (\d+) engine connections/g)].at(-1);
  t.true(Number(served?.[1]) >= 2, 'the context and the delete went through the keeper');
});

test.serial('install --no-keeper starts none; the dry run says what install would start', async (t) => {
  const dry = install(['--dry-run']);
  t.is(dry.status, 0, dry.stderr);
  t.regex(
    dry.stdout,
    new RegExp(`^would start the connection keeper of remotes \\S+ as ${USER} on ${socket}, detached \\(no systemd here\\), unless it already runs$`, 'm'),
  );
  const none = install(['--no-keeper']);
  t.is(none.status, 0, none.stderr);
  t.deepEqual(keeperLine(none.stdout), ['connection keeper: not started (--no-keeper)']);
  t.false(existsSync(socket));
});

test.serial('a keeper killed leaves its socket; the next install starts a new one there', async (t) => {
  const first = install();
  t.truthy(first.pid, first.stdout);
  process.kill(first.pid!, 'SIGKILL');
  t.true(await gone(first.pid!));
  t.true(statSync(socket).isSocket(), 'the dead keeper left its socket');
  const next = install();
  t.truthy(next.pid, next.stdout);
  t.not(next.pid, first.pid);
  t.true(alive(next.pid!));
  const removed = dockvisorOpennebula(['uninstall', ...fe.flags, '--one-version', '7.4.0']);
  t.is(removed.status, 0, removed.stderr);
  t.true(await gone(next.pid!));
});

test.serial('something else at the socket is left alone, with one line', async (t) => {
  mkdirSync(join(home, '.dockvisor'), { recursive: true, mode: 0o700 });
  rmSync(socket, { force: true });
  const server: Server = createServer((client) => client.end('not a keeper\n'));
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    const run = install();
    t.is(run.status, 0, run.stderr);
    t.deepEqual(keeperLine(run.stdout), [`connection keeper: not started: ${socket} belongs to uid 0, not the keeper's user (uid ${user.uid}); left alone`]);
    t.true(server.listening);
    t.true(statSync(socket).isSocket());
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test.serial("a socket of oned's user that does not answer as a keeper is left alone, with one line", async (t) => {
  rmSync(socket, { force: true });
  const listener = spawn(process.execPath, ['-e', "require('net').createServer((c) => c.end('no\\n')).listen(process.argv[1])", socket], {
    uid: user.uid,
    gid: user.gid,
    stdio: 'ignore',
  });
  try {
    for (let waited = 0; !existsSync(socket) && waited < 10_000; waited += 50) await sleep(50);
    const run = install();
    t.is(run.status, 0, run.stderr);
    const lines = keeperLine(run.stdout);
    t.is(lines.length, 1, run.stdout);
    t.regex(lines[0]!, new RegExp(`^connection keeper: not started: ${socket} does not answer as a connection keeper \\(.+\\); left alone$`));
    t.is(listener.exitCode, null, 'still running');
  } finally {
    listener.kill();
  }
});

test.serial('a hard link at the log is refused: the keeper is not started, the linked file is left as it was', async (t) => {
  const log = join(home, '.dockvisor/tm-keeper.log');
  mkdirSync(join(home, '.dockvisor'), { recursive: true, mode: 0o700 });
  chownSync(join(home, '.dockvisor'), user.uid, user.gid);
  rmSync(socket, { force: true });
  rmSync(log, { force: true });
  // A file of this test's, root's and private, standing in for one oned's user may not write (/etc/shadow).
  const scratch = join(fe.dir, 'roots-own-file');
  writeFileSync(scratch, 'root only\n', { mode: 0o600 });
  execFileSync('ln', [scratch, log]);
  try {
    const run = install();
    t.is(run.status, 0, run.stderr);
    t.deepEqual(keeperLine(run.stdout), [`connection keeper: not started: ${log} has 2 links (a hard link to another file); left alone`]);
    t.is(run.pid, undefined);
    t.is(statSync(scratch).uid, 0, 'owner unchanged');
    t.is(readFileSync(scratch, 'utf8'), 'root only\n', 'nothing written to it');
    t.false(existsSync(socket));
  } finally {
    rmSync(log, { force: true });
    rmSync(scratch, { force: true });
  }
});

test.serial("a socket whose directory is missing outside the user's home: nothing is made there, one line", async (t) => {
  const tmConfig = join(fe.remotes, 'etc/tm/dockvisor/dockvisor.conf');
  const kept = readFileSync(tmConfig, 'utf8');
  const elsewhere = join(fe.dir, 'elsewhere');
  writeFileSync(tmConfig, JSON.stringify({ ...JSON.parse(kept), connectionKeeper: join(elsewhere, 'keeper.sock') }));
  try {
    const run = install();
    t.is(run.status, 0, run.stderr);
    t.deepEqual(keeperLine(run.stdout), [`connection keeper: not started: ${elsewhere} does not exist and is not inside ${USER}'s home ${home}`]);
    t.false(existsSync(elsewhere));
  } finally {
    writeFileSync(tmConfig, kept);
  }
});
