import test from 'ava';
import { chownSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlan, keeperPlan, type KeeperPlan } from '../drivers/opennebula/install/keeper-plan.ts';
import { lastLogLine, openKeeperLog } from '../drivers/opennebula/install/keeper-log.ts';
import { stopKeeper } from '../drivers/opennebula/install/keeper-service.ts';
import { KEEPER_UNIT, keeperUnit, unitStart } from '../drivers/opennebula/install/keeper-unit.ts';
import { passwdEntry } from '../drivers/opennebula/install/passwd-entry.ts';

// What the installer starts as the connection keeper, read from the installed remotes, and its systemd unit.
let dir = '';
let remotes = '';
let passwd = '';

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dvt-keeper-plan-'));
  remotes = join(dir, 'remotes');
  mkdirSync(join(remotes, 'lib/dockvisor'), { recursive: true });
  mkdirSync(join(remotes, 'etc/tm/dockvisor'), { recursive: true });
  writeFileSync(join(remotes, 'lib/dockvisor/VERSION'), '1.2.3+abc\n');
  passwd = join(dir, 'passwd');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\noneadmin:x:9869:9869::/var/lib/one:/bin/bash\n');
});

test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const config = (text: string) => writeFileSync(join(remotes, 'etc/tm/dockvisor/dockvisor.conf'), text);

test.serial('/etc/passwd entries by name and by id', (t) => {
  t.deepEqual(passwdEntry({ name: 'oneadmin' }, passwd), { name: 'oneadmin', uid: 9869, gid: 9869, home: '/var/lib/one' });
  t.is(passwdEntry({ uid: 0 }, passwd)?.name, 'root');
  t.is(passwdEntry({ uid: 4242 }, passwd), undefined);
  t.is(passwdEntry({ name: 'root' }, join(dir, 'none')), undefined);
});

test.serial('no keeper for remotes of root, of a user /etc/passwd does not list, without VERSION, or turned off in the transfer config', (t) => {
  const reason = (plan: ReturnType<typeof keeperPlan>) => (isPlan(plan) ? 'a plan' : plan.reason);
  t.is(reason(keeperPlan(remotes, { uid: 0, gid: 0 })), `${remotes} belongs to root, not to the user oned runs as`);
  t.is(reason(keeperPlan(remotes, { uid: 2_000_000_001, gid: 1 })), `${remotes} belongs to uid 2000000001, which /etc/passwd does not list`);
  const self = process.getuid!() === 0 ? 65534 : process.getuid!();
  t.is(reason(keeperPlan(remotes, { uid: self, gid: 0 }, join(dir, 'nowhere'))), `${join(dir, 'nowhere')} has no VERSION`);
  config('{"connectionKeeper": ""}');
  t.regex(reason(keeperPlan(remotes, { uid: self, gid: 0 })), /turns it off \(connectionKeeper ""\)$/);
  config('{"connectionKeeper": 5}');
  t.regex(reason(keeperPlan(remotes, { uid: self, gid: 0 })), /connectionKeeper must be a unix socket path, or "" for none$/);
});

test.serial("the keeper's socket: the transfer config's, else in its user's home", (t) => {
  const self = process.getuid!() === 0 ? 65534 : process.getuid!();
  const home = passwdEntry({ uid: self })!.home;
  config('{}');
  const plan = keeperPlan(remotes, { uid: self, gid: 0 }) as KeeperPlan;
  t.is(plan.socket, join(home, '.dockvisor/tm-connection-keeper.sock'));
  t.is(plan.version, '1.2.3+abc');
  t.is(plan.script, join(remotes, 'lib/dockvisor/tm-keeper.mjs'));
  config('{"connectionKeeper": "/run/one/keeper.sock"}');
  t.is((keeperPlan(remotes, { uid: self, gid: 0 }) as KeeperPlan).socket, '/run/one/keeper.sock');
});

test.serial('the systemd unit runs it as that user, restarted whenever it exits (a stale one steps down), the paths quoted', (t) => {
  const plan: KeeperPlan = {
    user: { name: 'oneadmin', uid: 9869, gid: 9869, home: '/var/lib/one' },
    node: '/usr/lib/dockvisor/node/bin/node',
    script: '/var/lib/one/remotes 100%/lib/dockvisor/tm-keeper.mjs',
    version: '1.2.3',
    socket: '/var/lib/one/.dockvisor/tm-connection-keeper.sock',
  };
  const unit = keeperUnit(plan);
  t.regex(unit, /^User=oneadmin$/m);
  t.regex(unit, /^ExecStart="\/usr\/lib\/dockvisor\/node\/bin\/node" "\/var\/lib\/one\/remotes 100%%\/lib\/dockvisor\/tm-keeper\.mjs"$/m);
  t.regex(unit, /^Restart=always$/m);
  t.regex(unit, /^WantedBy=multi-user\.target$/m);
});

test.serial("the keeper's log: a hard link or a symlink there is refused and left as it was; a new one is the user's", (t) => {
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const user = { uid: 65534, gid: 65534 };
  const asRoot = process.getuid!() === 0;
  // A file of this test's standing in for one the keeper's user may not write (/etc/shadow on a front-end).
  const scratch = join(dir, 'not-the-users');
  writeFileSync(scratch, 'secret\n', { mode: 0o600 });
  const before = statSync(scratch);
  const linked = join(logs, 'tm-keeper.log');
  linkSync(scratch, linked);
  const refused = openKeeperLog(linked, user, asRoot);
  t.deepEqual(refused, { refusal: `${linked} has 2 links (a hard link to another file)` });
  t.is(statSync(scratch).uid, before.uid, 'owner unchanged');
  t.is(readFileSync(scratch, 'utf8'), 'secret\n');
  rmSync(linked);
  symlinkSync(scratch, linked);
  const viaSymlink = openKeeperLog(linked, user, asRoot);
  t.true('refusal' in viaSymlink && /ELOOP/.test(viaSymlink.refusal), JSON.stringify(viaSymlink));
  t.is(statSync(scratch).uid, before.uid);
  rmSync(linked);
  if (asRoot) {
    // One of another user's (root's, left there before) is not taken either.
    writeFileSync(linked, '', { mode: 0o600 });
    t.deepEqual(openKeeperLog(linked, user, asRoot), { refusal: `${linked} belongs to uid 0, not the keeper's user (uid 65534)` });
    rmSync(linked);
  }
  const made = openKeeperLog(linked, user, asRoot);
  if (!('fd' in made)) return t.fail(made.refusal);
  writeFileSync(made.fd, 'first\nlast line\n');
  t.is(lastLogLine(made.fd), 'last line');
  closeSync(made.fd);
  t.is(statSync(linked).uid, asRoot ? user.uid : process.getuid!());
  if (asRoot) chownSync(linked, 0, 0);
});

test('under systemd, a keeper of these remotes the unit does not run steps down before the unit starts; the unit’s own stays', (t) => {
  t.deepEqual(unitStart('same', false, true), { stepDown: false, run: 'start' }, "the unit's keeper of these remotes stays");
  t.deepEqual(unitStart('same', true, true), { stepDown: false, run: 'restart' }, 'a changed unit restarts its own keeper');
  t.deepEqual(unitStart('same', false, false), { stepDown: true, run: 'restart' }, 'a detached keeper of these remotes is asked to step down');
  t.deepEqual(unitStart('same', true, false), { stepDown: true, run: 'restart' });
  t.deepEqual(unitStart('stale', false, false), { stepDown: false, run: 'restart' }, 'one of other remotes stepped down when asked');
  t.deepEqual(unitStart('none', false, false), { stepDown: false, run: 'restart' });
});

test.serial('uninstall under systemd: a systemctl that fails is one line, and the unit file is removed all the same', async (t) => {
  const unitDir = join(dir, 'units');
  mkdirSync(unitDir);
  writeFileSync(join(unitDir, KEEPER_UNIT), '[Service]\n');
  const lines: string[] = [];
  // systemd does not run here: systemctl fails, as it does when the unit cannot be stopped.
  await stopKeeper({ remotes, owner: { uid: 65534, gid: 65534 }, dryRun: false, say: (line) => lines.push(line), systemd: true, unitDir });
  t.false(existsSync(join(unitDir, KEEPER_UNIT)));
  t.regex(lines[0]!, /^connection keeper: systemctl disable --now dockvisor-tm-keeper\.service: .+; the unit file is removed all the same$/);
  t.is(lines.at(-1), `${join(unitDir, KEEPER_UNIT)}: removed`);
});
