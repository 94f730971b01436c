import test from 'ava';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { allProbeDirs, monitorMessages, monitorOf, probesRoot, runProbe } from './helpers/monitord-client.ts';
import { createBridge, deleteBridge, deleteLink, hostPings, linksStartingWith } from './helpers/net.ts';
import { BASE_IMAGE, recorded, repoRoot, stateDir } from './helpers/paths.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const WEB = ids.vm(0);
const BURNER = ids.vm(1);
const FLAKY = ids.vm(2);
const CRASHER = ids.vm(3);
const ALL = [WEB, BURNER, FLAKY, CRASHER];
const NOT_OURS = 'dvtest-not-ours';
const config = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');

const web: VmDraft = { id: WEB, nics: [{ nicId: 0, bridge, ip: ids.address(0, 11) }] };
const burner: VmDraft = {
  id: BURNER,
  cpu: '0.5',
  memory: '128',
  dockvisor: { CMD: `sh -c 'head -c 6000000 /dev/zero > /root/disk; head -c 40000000 /dev/zero > /dev/shm/fill; while :; do :; done'` },
  extraTemplate: '<DISK><DISK_ID><![CDATA[0]]></DISK_ID><TYPE><![CDATA[FILE]]></TYPE></DISK>',
};
const flaky: VmDraft = { id: FLAKY };
const crasher: VmDraft = { id: CRASHER, dockvisor: { CMD: `sh -c 'sleep 1; exit 3'` } };

/** A host config with its own state directory, so each test starts from a first (full) report. */
function probeEnv(name: string, overrides: Record<string, unknown> = {}): NodeJS.ProcessEnv {
  const dir = join(stateDir, `probe-state-${name}`);
  rmSync(dir, { recursive: true, force: true });
  return { ...process.env, DOCKVISOR_CONFIG: testConfigPath({ stateDir: dir, ...overrides }, `probes-${name}.json`) };
}

const runFile = promisify(execFile);
const probe = (dir: string, file: string, env: NodeJS.ProcessEnv) => runProbe(join(probesRoot, dir, file), config, env);

async function ok(action: string, argv: string[], stdin: string): Promise<void> {
  const result = await runAction(action, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
}

const cleanup = async () => {
  const engine = await realEngine();
  await removeContainersOf(engine, ALL);
  await engine.removeContainer(NOT_OURS).catch(() => undefined);
  for (const link of linksStartingWith(`one-${WEB}-`)) deleteLink(link);
  deleteBridge(bridge);
};

test.before(async () => {
  await cleanup();
  createBridge(bridge, ids.cidr(0, 1));
  for (const vm of [web, burner, flaky]) await ok('deploy', deployArgv(vm.id), vmXml(vm));
  const engine = await realEngine();
  await engine.createContainer(NOT_OURS, { Image: BASE_IMAGE, Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'none' } });
  await engine.startContainer(NOT_OURS);
});
test.after.always(cleanup);

test.serial('monitoring starts as monitord runs it: every probe directory exists and the messages carry host and VMs', async (t) => {
  for (const dir of allProbeDirs) t.true(existsSync(join(probesRoot, dir)), `${dir} exists`);
  const { document, decoded } = await monitorMessages(config, probeEnv('start'));
  const messages = new XMLParser().parse(document).MONITOR_MESSAGES;
  t.truthy(messages.SYSTEM_HOST && messages.MONITOR_HOST && messages.STATE_VM && messages.MONITOR_VM && messages.TIMESTAMP);

  t.regex(decoded.SYSTEM_HOST!, /^HYPERVISOR="dockvisor"$/m);
  for (const key of [
    'HOSTNAME',
    'ARCH',
    'MODELNAME',
    'CPUSPEED',
    'TOTALCPU',
    'TOTALMEMORY',
    'CGROUPS_VERSION',
    'DOCKER_VERSION',
    'DOCKER_STORAGE_DRIVER',
    'DS_LOCATION_TOTAL_MB',
    'DS_LOCATION_FREE_MB',
  ]) {
    t.regex(decoded.SYSTEM_HOST!, new RegExp(`^${key}=`, 'm'), key);
  }
  t.regex(decoded.SYSTEM_HOST!, /^TOTALCPU=\d+00$/m);
  for (const key of ['USEDMEMORY', 'FREEMEMORY', 'USEDCPU', 'FREECPU', 'NETRX', 'NETTX']) t.regex(decoded.MONITOR_HOST!, new RegExp(`^${key}=\\d+$`, 'm'), key);

  t.regex(decoded.STATE_VM!, /^SYNC_STATE=yes\nMISSING_STATE=POWEROFF\n/);
  t.regex(decoded.STATE_VM!, new RegExp(`^VM = \\[ ID="${WEB}", DEPLOY_ID="one-${WEB}", STATE="RUNNING" \\]$`, 'm'));
  const monitor = monitorOf(decoded.MONITOR_VM!, WEB);
  t.truthy(monitor);
  t.deepEqual(Object.keys(monitor!), ['CPU', 'MEMORY', 'NETRX', 'NETTX', 'DISKRDBYTES', 'DISKWRBYTES', 'DISKRDIOPS', 'DISKWRIOPS']);
  t.false(document.includes(NOT_OURS), 'a container that is not ours never appears');
  const beacon = await probe('host/beacon', 'date.sh', probeEnv('beacon'));
  t.true(Math.abs(Number(beacon.stdout) - Date.now() / 1000) < 5, 'the beacon is the epoch');
});

test.serial('reported memory and CPU are what the cgroup files say, within the sampling window', async (t) => {
  const engine = await realEngine();
  const id = (await engine.inspectContainer(`one-${BURNER}`)).Id;
  const cpuacct = () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8'));
  const memory = () => {
    const usage = Number(readFileSync(`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, 'utf8'));
    const inactive = Number(/^total_inactive_file (\d+)$/m.exec(readFileSync(`/sys/fs/cgroup/memory/docker/${id}/memory.stat`, 'utf8'))?.[1]);
    return (usage - inactive) / 1024;
  };
  const env = probeEnv('usage');
  const at = () => ({ time: performance.timeOrigin + performance.now(), cpu: cpuacct() });

  const a0 = at();
  await probe('vm/monitor', 'dockvisor_usage.sh', env);
  const a1 = at();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const b0 = at();
  const memoryBefore = memory();
  const second = await probe('vm/monitor', 'dockvisor_usage.sh', env);
  const memoryAfter = memory();
  const b1 = at();

  const reported = monitorOf(second.stdout, BURNER)!;
  const cpu = Number(reported.CPU);
  // The probe's interval lies between its two runs: its rate is bounded by the widest and narrowest windows.
  const low = ((b0.cpu - a1.cpu) / ((b1.time - a0.time) * 1e6)) * 100;
  const high = ((b1.cpu - a0.cpu) / ((b0.time - a1.time) * 1e6)) * 100;
  t.true(cpu >= low - 5 && cpu <= high + 5, `CPU ${cpu} % within [${low.toFixed(1)}, ${high.toFixed(1)}] ± 5`);
  t.true(cpu <= 55, 'CPU=0.5 caps the VM at half a core');
  const mem = Number(reported.MEMORY);
  t.true(
    mem >= Math.min(memoryBefore, memoryAfter) * 0.9 && mem <= Math.max(memoryBefore, memoryAfter) * 1.1,
    `MEMORY ${mem} KB vs cgroup ${memoryBefore.toFixed(0)}..${memoryAfter.toFixed(0)} KB ± 10 %`,
  );
  t.true(mem > 39_000, 'the 40 MB the VM filled are counted');
  t.regex(
    Buffer.from(/ID="9602".*MONITOR="([^"]*)"/.exec(second.stdout)![1]!, 'base64').toString(),
    /^DISK_SIZE=\[ID=0,SIZE=6\]$/m,
    'the root disk is the writable layer',
  );
});

test.serial('network counters move when traffic crosses the veth', async (t) => {
  const env = probeEnv('net');
  const before = monitorOf((await probe('vm/monitor', 'dockvisor_usage.sh', env)).stdout, WEB)!;
  for (let i = 0; i < 3; i++) t.true(hostPings('198.18.50.11'));
  const after = monitorOf((await probe('vm/monitor', 'dockvisor_usage.sh', env)).stdout, WEB)!;
  t.true(Number(after.NETRX) - Number(before.NETRX) >= 3 * 98, `NETRX ${before.NETRX} -> ${after.NETRX}`);
  t.true(Number(after.NETTX) - Number(before.NETTX) >= 3 * 98, `NETTX ${before.NETTX} -> ${after.NETTX}`);
});

// The state probe reports what changed since its previous run, which its state directory remembers. The tests below
// share one such directory: each first runs the probe over whatever changed before it (nothing, in the order
// written), then changes one thing behind OpenNebula's back and reads the one line that change is worth.
let statesEnv: NodeJS.ProcessEnv | undefined;
/** Something changed since the probe last ran (or it never ran): its next report is not only the test's change. */
let unreported = true;
// Other test files run VMs on this engine at the same time: look only at this file's.
const ours = (line: string) => !line.startsWith('VM = ') || ALL.some((id) => line.includes(`ID="${id}",`));
const line = (id: number, state: string) => `VM = [ ID="${id}", DEPLOY_ID="one-${id}", STATE="${state}" ]\n`;

async function status(): Promise<string> {
  statesEnv ??= probeEnv('states');
  const report = (await probe('vm/status', 'dockvisor_state.sh', statesEnv)).stdout
    .split(/(?<=\n)/)
    .filter(ours)
    .join('');
  unreported = false;
  return report;
}

async function behindItsBack(change: () => Promise<unknown>): Promise<void> {
  unreported = true;
  await change();
}

/** Lets the probe report what changed before the test, so that its next run reports only the test's change. */
async function reportedSoFar(): Promise<void> {
  if (unreported) await status();
}

/** FLAKY running, paused or stopped, and reported so. */
async function flakyIs(wanted: 'running' | 'paused' | 'exited'): Promise<void> {
  const engine = await realEngine();
  const name = `one-${FLAKY}`;
  const { State } = await engine.inspectContainer(name);
  const now = State.Paused ? 'paused' : State.Running ? 'running' : 'exited';
  if (now !== wanted) {
    await behindItsBack(async () => {
      if (now === 'paused') await engine.unpauseContainer(name);
      else if (now === 'exited') await engine.startContainer(name);
      if (wanted === 'paused') await engine.pauseContainer(name);
      else if (wanted === 'exited') await engine.killContainer(name);
    });
  }
  await reportedSoFar();
}

test.serial('the state probe first reports every VM, then nothing while nothing changes', async (t) => {
  statesEnv = probeEnv('states');
  t.true((await status()).startsWith('SYNC_STATE=yes'));
  t.is(await status(), '', 'no change, nothing to say');
});

test.serial('a VM paused behind its back is reported SUSPENDED', async (t) => {
  await flakyIs('running');
  await behindItsBack(async () => (await realEngine()).pauseContainer(`one-${FLAKY}`));
  t.is(await status(), line(FLAKY, 'SUSPENDED'));
});

test.serial('a VM unpaused behind its back is reported RUNNING', async (t) => {
  await flakyIs('paused');
  await behindItsBack(async () => (await realEngine()).unpauseContainer(`one-${FLAKY}`));
  t.is(await status(), line(FLAKY, 'RUNNING'));
});

test.serial('a VM stopped behind its back is reported POWEROFF', async (t) => {
  await flakyIs('running');
  await behindItsBack(async () => (await realEngine()).stopContainer(`one-${FLAKY}`, 1));
  t.is(await status(), line(FLAKY, 'POWEROFF'));
});

test.serial('a VM started behind its back is reported RUNNING', async (t) => {
  await flakyIs('exited');
  await behindItsBack(async () => (await realEngine()).startContainer(`one-${FLAKY}`));
  t.is(await status(), line(FLAKY, 'RUNNING'));
});

test.serial('a VM killed behind its back is reported POWEROFF', async (t) => {
  await flakyIs('running');
  await behindItsBack(async () => (await realEngine()).killContainer(`one-${FLAKY}`));
  t.is(await status(), line(FLAKY, 'POWEROFF'), 'a kill is a poweroff');
});

test.serial('a newly deployed VM is reported RUNNING', async (t) => {
  const engine = await realEngine();
  if ((await containersOf(engine, [CRASHER])).length > 0) await behindItsBack(() => removeContainersOf(engine, [CRASHER]));
  await reportedSoFar();
  await behindItsBack(() => ok('deploy', deployArgv(CRASHER), vmXml(crasher)));
  t.is(await status(), line(CRASHER, 'RUNNING'));
});

test.serial('a VM that exits by itself with an error is reported FAILURE', async (t) => {
  const engine = await realEngine();
  if ((await containersOf(engine, [CRASHER])).length === 0) await behindItsBack(() => ok('deploy', deployArgv(CRASHER), vmXml(crasher)));
  await reportedSoFar();
  await engine.transport.call({ method: 'POST', path: `/containers/one-${CRASHER}/wait`, expect: [200], subject: 'crasher' });
  t.is(await status(), line(CRASHER, 'FAILURE'), 'exiting by itself with an error is a failure');
});

test.serial('a VM removed behind its back is reported POWEROFF once it has been missing for three runs', async (t) => {
  const engine = await realEngine();
  await flakyIs('exited');
  await behindItsBack(() => engine.removeContainer(`one-${FLAKY}`));
  t.is(await status(), '');
  t.is(await status(), '');
  t.is(await status(), line(FLAKY, 'POWEROFF'), 'gone for three runs: missing, reported as POWEROFF');
  t.false((await status()).includes(NOT_OURS));
  t.deepEqual(await containersOf(engine, [FLAKY]), []);
});

test.serial('a probe that cannot do its job says why and fails; bad input is refused', async (t) => {
  const broken = await probe('vm/status', 'dockvisor_state.sh', probeEnv('broken', { engineSocket: '/nonexistent/docker.sock' }));
  t.is(broken.code, 1);
  t.regex(broken.stderr, /^dockvisor vm-status: .*cannot reach the engine at \/nonexistent\/docker\.sock.*\n$/);
  const hostile = await runProbe(
    join(probesRoot, 'vm/monitor/dockvisor_usage.sh'),
    '<!DOCTYPE x [<!ENTITY a "b">]><MONITOR_CONFIGURATION>&a;</MONITOR_CONFIGURATION>',
    probeEnv('hostile'),
  );
  t.is(hostile.code, 1);
  t.is(hostile.stderr.split('\n').filter(Boolean).length, 1);
  t.regex(hostile.stderr, /DOCTYPE/);
});

test.serial('the 5.x one-shot output and the VMM poll report the same VM', async (t) => {
  const legacy = await runProbe(join(probesRoot, 'legacy/poll.sh'), '', probeEnv('legacy'));
  t.is(legacy.code, 0, legacy.stderr);
  t.regex(legacy.stdout, /^HYPERVISOR="dockvisor"$/m);
  t.regex(legacy.stdout, /^TOTALMEMORY=\d+$/m);
  t.regex(legacy.stdout, /^USEDMEMORY=\d+$/m);
  t.regex(legacy.stdout, /^VM_POLL=YES$/m);
  t.regex(legacy.stdout, new RegExp(`^VM=\\[ID=${WEB},DEPLOY_ID=one-${WEB},POLL="STATE=a CPU=\\d+\\.\\d\\d MEMORY=\\d+ NETRX=\\d+ NETTX=\\d+"\\]$`, 'm'));
  const poll = await runAction('poll', idArgv(WEB), actionXml(web));
  t.regex(poll.stdout, /^STATE=a CPU=\d+\.\d\d MEMORY=\d+ NETRX=\d+ NETTX=\d+\n$/);
});

test.serial("tm/dockvisor/monitor_ds reports each VM's root disk size on the host, as the datastore monitoring reads it", async (t) => {
  const env = probeEnv('monitor-ds');
  const { stdout, stderr } = await runFile(join(repoRoot, 'remotes/tm/dockvisor/monitor_ds'), ['/var/lib/one/datastores/100'], { env });
  t.is(stderr, '');
  // Other test files' VMs run on this host for the same front-end: only this file's are looked at.
  const lines = stdout.split('\n').filter((line) => ALL.some((id) => line.includes(`ID="${id}"`)));
  t.deepEqual(
    lines.map((line) => /ID="(\d+)"/.exec(line)?.[1]),
    [String(BURNER)],
    'only VMs whose root disk is their writable layer',
  );
  t.regex(Buffer.from(/MONITOR="([^"]*)"/.exec(lines[0]!)![1]!, 'base64').toString(), /^DISK_SIZE=\[ID=0,SIZE=6\]$/m);
});
