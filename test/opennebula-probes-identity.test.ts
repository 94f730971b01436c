import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { probesRoot, runProbe } from './helpers/monitord-client.ts';
import { dockvisorOpennebula, fakeFrontEnd } from './helpers/front-end.ts';
import { recorded, repoRoot, stateDir } from './helpers/paths.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';
import { deployArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// Two OpenNebula front-ends (or one and a test run) sharing a host: each one's probes report its own VMs only,
// and the VMs made before front-ends had an identity still count as this front-end's.
const ids = testIds(import.meta.filename);
const OF_A = ids.vm(0);
const OF_B = ids.vm(1);
const FROM_BEFORE = ids.vm(2);
const ALL = [OF_A, OF_B, FROM_BEFORE];
const LABEL = 'io.dockvisor.opennebula.front-end-id';
const probeConfig = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');
const runFile = promisify(execFile);

/** A front-end's host config: its identity (none for the driver before identities existed) and its own state. */
function frontEnd(id: string | undefined): string {
  const state = join(stateDir, `we-identity-state-${id ?? 'none'}`);
  rmSync(state, { recursive: true, force: true });
  return testConfigPath({ frontEndId: id, stateDir: state }, `we-identity-${id ?? 'none'}.json`);
}
const configs = { a: frontEnd('dvt-we-a'), b: frontEnd('dvt-we-b'), before: frontEnd(undefined) };
const withRootDisk = (id: number): VmDraft => ({ id, extraTemplate: '<DISK><DISK_ID><![CDATA[0]]></DISK_ID><TYPE><![CDATA[FILE]]></TYPE></DISK>' });

async function deploy(id: number, config: string): Promise<void> {
  const result = await runAction('deploy', deployArgv(id), vmXml(withRootDisk(id)), config);
  if (result.code !== 0) throw new Error(`deploy ${id}: ${result.stderr}`);
}

async function reportedIds(probe: string, config: string): Promise<number[]> {
  const result = await runProbe(join(probesRoot, probe), probeConfig, { ...process.env, DOCKVISOR_CONFIG: config });
  if (result.code !== 0) throw new Error(`${probe}: ${result.stderr}`);
  return idsIn(result.stdout);
}

const idsIn = (output: string) =>
  [...output.matchAll(/\bID="?(\d+)"?,/g)]
    .map((match) => Number(match[1]))
    .filter((id) => ALL.includes(id))
    .sort();

test.before(async () => {
  await removeContainersOf(await realEngine(), ALL);
  await deploy(OF_A, configs.a);
  await deploy(OF_B, configs.b);
  await deploy(FROM_BEFORE, configs.before);
});

test.after.always(async () => {
  await removeContainersOf(await realEngine(), ALL);
});

test('deploy records the front-end on the container; a driver without an identity records none', async (t) => {
  const engine = await realEngine();
  t.is((await engine.inspectContainer(`one-${OF_A}`)).Config.Labels?.[LABEL], 'dvt-we-a');
  t.is((await engine.inspectContainer(`one-${OF_B}`)).Config.Labels?.[LABEL], 'dvt-we-b');
  t.is((await engine.inspectContainer(`one-${FROM_BEFORE}`)).Config.Labels?.[LABEL], undefined);
});

test('vm/status and vm/monitor report the VMs of the front-end that runs them, and those made before identities', async (t) => {
  for (const probe of ['vm/status/dockvisor_state.sh', 'vm/monitor/dockvisor_usage.sh']) {
    t.deepEqual(await reportedIds(probe, configs.a), [OF_A, FROM_BEFORE], `${probe} of front-end a`);
    t.deepEqual(await reportedIds(probe, configs.b), [OF_B, FROM_BEFORE], `${probe} of front-end b`);
    t.deepEqual(await reportedIds(probe, configs.before), [FROM_BEFORE], `${probe} of a front-end without an identity`);
  }
});

test("tm/dockvisor/monitor_ds reports the root disks of its front-end's VMs only", async (t) => {
  const monitorDs = (config: string) =>
    runFile(join(repoRoot, 'remotes/tm/dockvisor/monitor_ds'), ['/var/lib/one/datastores/100'], { env: { ...process.env, DOCKVISOR_CONFIG: config } });
  t.deepEqual(idsIn((await monitorDs(configs.a)).stdout), [OF_A, FROM_BEFORE]);
  t.deepEqual(idsIn((await monitorDs(configs.b)).stdout), [OF_B, FROM_BEFORE]);
});

test('the installer gives a front-end its identity once, also to a host config an admin already has', (t) => {
  const fe = fakeFrontEnd('7.4.0');
  const hostConfig = join(fe.remotes, 'etc/vmm/dockvisor/dockvisor.conf');
  const install = () => {
    const run = dockvisorOpennebula(['install', ...fe.flags, '--one-version', '7.4.0']);
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout;
  };
  try {
    const printed = install();
    const first = JSON.parse(readFileSync(hostConfig, 'utf8'));
    t.regex(first.frontEndId, /^[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{8}$/);
    t.true(printed.includes(first.frontEndId), 'the installer says which identity the front-end has');
    t.regex(install(), /nothing to change/);
    t.is(JSON.parse(readFileSync(hostConfig, 'utf8')).frontEndId, first.frontEndId, 'kept as it is');

    writeFileSync(hostConfig, JSON.stringify({ suspendMode: 'stop', allow: { hostMountRoots: ['/srv'] } }));
    install();
    const adopted = JSON.parse(readFileSync(hostConfig, 'utf8'));
    t.like(adopted, { suspendMode: 'stop', allow: { hostMountRoots: ['/srv'] } });
    t.regex(adopted.frontEndId, /-[0-9a-f]{8}$/);
    t.not(adopted.frontEndId, first.frontEndId);
  } finally {
    fe.cleanup();
  }
});
