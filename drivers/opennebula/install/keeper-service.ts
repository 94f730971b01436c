import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { HostSetupError } from '../../core/errors.ts';
import { isPlan, keeperPlan, type KeeperPlan } from './keeper-plan.ts';
import { askKeeper, waitUntilClosed, waitUntilServing } from '../../core/keeper-presence.ts';
import { openKeeperLog, lastLogLine } from './keeper-log.ts';
import { KEEPER_UNIT, keeperUnit, UNIT_DIR, unitStart } from './keeper-unit.ts';
import type { PasswdEntry } from './passwd-entry.ts';
import type { Owner } from './remotes-placement.ts';

export interface KeeperStep {
  remotes: string;
  owner: Owner;
  dryRun: boolean;
  say: (line: string) => void;
  /** Whether systemd runs this machine (default: /run/systemd/system exists). */
  systemd?: boolean;
  unitDir?: string;
  /** A dry run's: the package's remotes/lib/dockvisor, whose VERSION the keeper would serve once placed. */
  packageLib?: string;
}

const START_TIMEOUT_MS = 15_000;
const STEP_DOWN_TIMEOUT_MS = 10_000;
/** What a keeper asked to stop hears: a version no remotes have, so that any keeper of ours steps down. */
const NO_REMOTES = 'uninstalled';

const runsSystemd = () => existsSync('/run/systemd/system');

/**
 * After the remotes are in place: the installed remotes' connection keeper running as oned's user. Under systemd
 * a unit, written and (re)started; elsewhere a detached process, started unless ours of the same remotes
 * already answers, after one of other remotes stepped down. Something else at the socket is left alone.
 */
export async function startKeeper(step: KeeperStep): Promise<void> {
  const { say } = step;
  const plan = keeperPlan(step.remotes, step.owner, step.dryRun ? step.packageLib : undefined);
  if (!isPlan(plan)) return say(`connection keeper: ${step.dryRun ? 'would not be started' : 'not started'}: ${plan.reason}`);
  const systemd = step.systemd ?? runsSystemd();
  const unit = join(step.unitDir ?? UNIT_DIR, KEEPER_UNIT);
  if (step.dryRun) {
    const how = systemd ? `by systemd (${unit}, restarted)` : 'detached (no systemd here), unless it already runs';
    return say(`would start the connection keeper of remotes ${plan.version} as ${plan.user.name} on ${plan.socket}, ${how}`);
  }
  if (systemd) return startUnit(plan, unit, say);
  const found = await askKeeper(plan.socket, plan.user.uid, plan.version);
  if (found.state === 'foreign') return say(`connection keeper: not started: ${found.why}; left alone`);
  if (found.state === 'same') return say(`connection keeper: remotes ${plan.version} already runs on ${plan.socket}, left running`);
  if (found.state === 'stale') {
    // Asked as an action of the new remotes, it answered "stale" and steps down, letting the connections in use finish.
    if (!(await waitUntilClosed(plan.socket, STEP_DOWN_TIMEOUT_MS)))
      return say(`connection keeper: the one of other remotes on ${plan.socket} did not step down; not started`);
    say(`connection keeper: the one of other remotes on ${plan.socket} stepped down`);
  }
  await startDetached(plan, say);
}

/** Uninstall: the keeper stopped (the unit taken out under systemd, else asked to step down); something else is left alone. */
export async function stopKeeper(step: KeeperStep): Promise<void> {
  const { say } = step;
  const unit = join(step.unitDir ?? UNIT_DIR, KEEPER_UNIT);
  if ((step.systemd ?? runsSystemd()) && existsSync(unit)) {
    if (step.dryRun) return say(`would stop and remove ${unit}`);
    // The unit goes whatever systemd says: the uninstall takes out what it placed.
    let stopped = true;
    try {
      systemctl(['disable', '--now', KEEPER_UNIT]);
    } catch (error) {
      stopped = false;
      say(`connection keeper: ${(error as Error).message}; the unit file is removed all the same`);
    }
    rmSync(unit, { force: true });
    try {
      systemctl(['daemon-reload']);
    } catch (error) {
      say(`connection keeper: ${(error as Error).message}`);
    }
    return say(`${unit}: ${stopped ? 'stopped and ' : ''}removed`);
  }
  const plan = keeperPlan(step.remotes, step.owner);
  if (!isPlan(plan)) return;
  if (step.dryRun) return say(`would ask the connection keeper on ${plan.socket}, if one runs, to stop`);
  await askToStepDown(plan, say);
}

/** Asks the keeper at the plan's socket, if one of ours runs there, to step down; one line says how it went. */
async function askToStepDown(plan: KeeperPlan, say: (line: string) => void): Promise<void> {
  const found = await askKeeper(plan.socket, plan.user.uid, NO_REMOTES);
  if (found.state === 'foreign') return say(`connection keeper: ${found.why}; left alone`);
  if (found.state !== 'stale') return;
  if (await waitUntilClosed(plan.socket, STEP_DOWN_TIMEOUT_MS)) say(`connection keeper on ${plan.socket}: stopped`);
  else say(`connection keeper on ${plan.socket}: asked to stop, still takes connections`);
}

/** Under systemd: the unit written (when it changed), enabled and (re)started, and the keeper waited for. */
async function startUnit(plan: KeeperPlan, unit: string, say: (line: string) => void): Promise<void> {
  const found = await askKeeper(plan.socket, plan.user.uid, plan.version);
  if (found.state === 'foreign') return say(`connection keeper: not started: ${found.why}; left alone`);
  const text = keeperUnit(plan);
  const changed = !existsSync(unit) || readFileSync(unit, 'utf8') !== text;
  if (changed) writeFileSync(unit, text, { mode: 0o644 });
  const { stepDown, run } = unitStart(found.state, changed, unitActive());
  // A keeper of these remotes that the unit does not run (one started detached) would make the unit's keeper
  // fail "already answers" over and over: it steps down first.
  if (stepDown) await askToStepDown(plan, say);
  try {
    for (const args of [['daemon-reload'], ['enable', KEEPER_UNIT], [run, KEEPER_UNIT]]) systemctl(args);
  } catch (error) {
    // The keeper is optional: the remotes and the configuration are in place, the actions connect by themselves.
    return say(`connection keeper: not started: ${(error as Error).message}`);
  }
  const serving = await waitUntilServing(plan.socket, plan.user.uid, plan.version, START_TIMEOUT_MS, () => false);
  if (serving.state === 'same') return say(`connection keeper: remotes ${plan.version} running as ${plan.user.name} on ${plan.socket} (${KEEPER_UNIT})`);
  return say(`connection keeper: ${KEEPER_UNIT} does not answer on ${plan.socket} (journalctl -u ${KEEPER_UNIT})`);
}

const unitActive = () => spawnSync('systemctl', ['is-active', '--quiet', KEEPER_UNIT], { timeout: 60_000 }).status === 0;

/** Started in its own session as the keeper's user, its output appended to a log beside its socket. */
async function startDetached(plan: KeeperPlan, say: (line: string) => void): Promise<void> {
  const { user } = plan;
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && process.getuid?.() !== user.uid) return say(`connection keeper: not started: run the install as root or as ${user.name}`);
  const dir = dirname(plan.socket);
  if (!existsSync(dir)) {
    const refusal = makeSocketDir(dir, user, asRoot);
    if (refusal) return say(`connection keeper: not started: ${refusal}`);
  }
  const owner = statSync(dir).uid;
  if (owner !== user.uid) return say(`connection keeper: not started: ${dir} belongs to uid ${owner}, not ${user.name}; left alone`);
  const log = join(dir, 'tm-keeper.log');
  const opened = openKeeperLog(log, user, asRoot);
  if ('refusal' in opened) return say(`connection keeper: not started: ${opened.refusal}; left alone`);
  const { fd } = opened;
  try {
    const command = asRoot ? [...asUser(user), plan.node, plan.script] : [plan.node, plan.script];
    const child = spawn(command[0]!, command.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: '/',
      env: { HOME: user.home, USER: user.name, LOGNAME: user.name, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    child.on('error', () => undefined);
    child.unref();
    const ended = () => child.exitCode !== null || child.signalCode !== null;
    const found = await waitUntilServing(plan.socket, user.uid, plan.version, START_TIMEOUT_MS, ended);
    if (found.state === 'same')
      return say(`connection keeper: remotes ${plan.version} started as ${user.name} on ${plan.socket} (pid ${child.pid}, log ${log})`);
    say(`connection keeper: did not start (${log}: ${lastLogLine(fd)}); the transfer actions connect by themselves`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The socket's own directory, made as the keeper's user and only inside that user's home: the transfer config
 * naming the socket is the user's to write, so root makes nothing anywhere it points. Why not, when it is not made.
 */
function makeSocketDir(dir: string, user: PasswdEntry, asRoot: boolean): string | undefined {
  const inHome = relative(user.home, dir);
  if (!inHome || inHome.startsWith('..') || isAbsolute(inHome)) return `${dir} does not exist and is not inside ${user.name}'s home ${user.home}`;
  // Only the socket's own directory is made: a missing home (or a directory above it) is not ours to make.
  if (!existsSync(dirname(dir))) return `${dirname(dir)} does not exist`;
  if (!asRoot) {
    mkdirSync(dir, { mode: 0o700 });
    return undefined;
  }
  const made = spawnSync(asUser(user)[0]!, [...asUser(user).slice(1), 'mkdir', '-m', '0700', '--', dir], { encoding: 'utf8', timeout: 10_000 });
  if (made.error || made.status !== 0) return `${user.name} cannot make ${dir}: ${(made.error?.message ?? made.stderr).trim()}`;
  return undefined;
}

/** The command prefix that runs the rest as the keeper's user. */
function asUser(user: { uid: number; gid: number }): string[] {
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--'];
}

function systemctl(args: string[]): void {
  const ran = spawnSync('systemctl', args, { encoding: 'utf8', timeout: 60_000 });
  if (ran.error || ran.status !== 0) throw new HostSetupError(`systemctl ${args.join(' ')}: ${(ran.error?.message ?? ran.stderr).trim().replace(/\s+/g, ' ')}`);
}
