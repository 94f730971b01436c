import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_OUTPUT_LIMIT } from '../drivers/core/command-records.ts';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { runProbe, probesRoot } from './helpers/monitord-client.ts';
import { recorded, stateDir } from './helpers/paths.ts';
import { testIds } from './helpers/test-ids.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { assertOneLineRefusal, runAction, testConfigPath } from './helpers/vmm.ts';

// `onevm exec` as oned runs it: `exec <vid> <host> <command> [<input, base64>]` with the action data on stdin,
// then the vm/execution probe reports how the command ended, once.
const ids = testIds(import.meta.filename);
const VM = ids.vm(0);
const STOPPED = ids.vm(1);
const vm: VmDraft = { id: VM };
const stopped: VmDraft = { id: STOPPED };
const probeConfig = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');
const commandState = join(stateDir, 'exec-state');
const configPath = testConfigPath({ stateDir: commandState }, 'exec.json');
const env = { ...process.env, DOCKVISOR_CONFIG: configPath };

/** The action data oned sends with exec: the command (and its input) also under VM/TEMPLATE/QEMU_GA_EXEC. */
function execDocument(draft: VmDraft, command: string, input?: string): string {
  const ga = `<QEMU_GA_EXEC><COMMAND><![CDATA[${command}]]></COMMAND><STDIN><![CDATA[${input ?? ''}]]></STDIN></QEMU_GA_EXEC>`;
  return actionXml({ ...draft, lcmState: 3, extraTemplate: ga });
}

const exec = (draft: VmDraft, command: string, input?: string) =>
  runAction('exec', [String(draft.id), 'localhost', command, ...(input === undefined ? [] : [input])], execDocument(draft, command, input), configPath);

interface Execution {
  ID: string;
  PID: string;
  STATUS: string;
  RETURN_CODE: string;
  STDOUT: string;
  STDERR: string;
}

/** The probe's lines, by VM id. */
async function executions(): Promise<Map<string, Execution>> {
  const result = await runProbe(join(probesRoot, 'vm/execution/dockvisor_execution.sh'), probeConfig, env);
  if (result.code !== 0) throw new Error(`vm/execution: ${result.stderr}`);
  const found = new Map<string, Execution>();
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    const fields = Object.fromEntries([...line.matchAll(/([A-Z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]])) as unknown as Execution;
    found.set(fields.ID, fields);
  }
  return found;
}

/** Waits (bounded) until the probe reports the VM's command, and returns that report. */
async function ended(vmId: number): Promise<Execution> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const report = (await executions()).get(String(vmId));
    if (report) return report;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no report for VM ${vmId}`);
}

const decoded = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

test.before(async () => {
  rmSync(commandState, { recursive: true, force: true });
  await removeContainersOf(await realEngine(), [VM, STOPPED]);
  for (const draft of [vm, stopped]) {
    const deployed = await runAction('deploy', deployArgv(draft.id), vmXml(draft), configPath);
    if (deployed.code !== 0) throw new Error(deployed.stderr);
  }
  const off = await runAction('shutdown', idArgv(STOPPED), actionXml({ ...stopped, lcmState: 18 }), configPath);
  if (off.code !== 0) throw new Error(off.stderr);
});
test.after.always(async () => removeContainersOf(await realEngine(), [VM, STOPPED]));

test.serial('the recorded exec: the command runs in the VM and the probe reports its output and exit code once', async (t) => {
  const started = await exec(vm, 'cat /etc/hostname');
  t.is(started.code, 0, started.stderr);
  const report = await ended(VM);
  t.is(report.STATUS, 'DONE');
  t.is(report.RETURN_CODE, '0');
  const { Config } = await (await realEngine()).inspectContainer(`one-${VM}`);
  t.is(decoded(report.STDOUT).trim(), Config.Hostname ?? '');
  t.is(report.STDERR, '');
  t.regex(report.PID, /^[1-9][0-9]*$/);
  t.false((await executions()).has(String(VM)), 'reported once');
});

test.serial('the recorded exec with input: the input reaches the command, quoting is kept, stderr and the exit code come back', async (t) => {
  const started = await exec(vm, `sh -c "cat; echo oops >&2; exit 3"`, Buffer.from('some input').toString('base64'));
  t.is(started.code, 0, started.stderr);
  const report = await ended(VM);
  t.is(report.RETURN_CODE, '3');
  t.is(decoded(report.STDOUT), 'some input');
  t.is(decoded(report.STDERR), 'oops\n');
});

test.serial('shell syntax in a command is run literally inside the VM, never by a shell on the host', async (t) => {
  const marker = join(stateDir, `exec-host-marker-${VM}`);
  rmSync(marker, { force: true });
  const started = await exec(vm, `echo $(touch ${marker}) ; touch ${marker}`);
  t.is(started.code, 0, started.stderr);
  const report = await ended(VM);
  t.is(decoded(report.STDOUT), `$(touch ${marker}) ; touch ${marker}\n`);
  t.throws(() => readFileSync(marker));
});

test.serial('binary and large output is kept up to the bound', async (t) => {
  const started = await exec(vm, `head -c ${COMMAND_OUTPUT_LIMIT * 4} /dev/urandom`);
  t.is(started.code, 0, started.stderr);
  const report = await ended(VM);
  t.is(report.RETURN_CODE, '0');
  t.is(Buffer.from(report.STDOUT, 'base64').length, COMMAND_OUTPUT_LIMIT);
});

test.serial('a second command while one runs is refused; exec_cancel kills the running one', async (t) => {
  t.is((await exec(vm, 'sleep 300')).code, 0);
  assertOneLineRefusal(t, await exec(vm, 'true'), /a command is still running in it; exec_cancel stops it/);
  // oned appends `<vm id> <host>` to exec_cancel's empty parameters.
  const cancelled = await runAction('exec_cancel', [String(VM), 'localhost'], actionXml({ ...vm, lcmState: 3 }), configPath);
  t.is(cancelled.code, 0, cancelled.stderr);
  const report = await ended(VM);
  t.is(report.RETURN_CODE, '137');
  t.is((await exec(vm, 'true')).code, 0, 'a new command runs once the cancelled one is gone');
  await ended(VM);
});

test.serial('a command the VM does not have, and a VM that is not running, get one line and run nothing', async (t) => {
  assertOneLineRefusal(t, await exec(vm, 'no-such-command --flag'), /has no command no-such-command/);
  assertOneLineRefusal(t, await exec(stopped, 'true'), /is not running/);
  t.false((await executions()).has(String(VM)));
});

test.serial('hostile exec argv is refused before anything runs', async (t) => {
  const document = execDocument(vm, 'true');
  for (const argv of [
    [String(VM), 'localhost'],
    [String(VM), 'localhost', 'true', 'not base64!'],
    [String(VM), 'localhost', 'true\nrm -rf /'],
    [String(VM + 1), 'localhost', 'true'],
    [`${VM};id`, 'localhost', 'true'],
  ]) {
    assertOneLineRefusal(t, await runAction('exec', argv, document, configPath), /./);
  }
});
