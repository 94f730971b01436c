import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, realEngine, removeContainersOf, tagBaseImageAs } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, ipInside, linkExists } from './helpers/net.ts';
import { recorded } from './helpers/paths.ts';
import { runAction } from './helpers/vmm.ts';

// The recorded OpenNebula 7.4 inputs, byte for byte: VM 1 on bridge br-dv, image alpine:3.19, CMD "sleep infinity".
const fixture = (name: string) => readFileSync(join(recorded, name), 'utf8');
const VM = 1;
const idArgv = ['dockvisor-1', 'localhost', '1', 'localhost'];

async function act(action: string, argv: string[], stdinFile: string) {
  const result = await runAction(action, argv, fixture(stdinFile));
  if (result.code !== 0) throw new Error(`${action} failed (${result.code}): ${result.stderr}`);
  return result;
}

function readInside(containerPid: number, path: string): string {
  return execFileSync('nsenter', [`--target=${containerPid}`, '--mount', 'cat', path], { encoding: 'utf8' });
}

function writeInside(containerPid: number, path: string, content: string): void {
  execFileSync('nsenter', [`--target=${containerPid}`, '--mount', 'sh', '-c', `echo ${content} > ${path}`]);
}

test.before(async () => {
  const engine = await realEngine();
  await tagBaseImageAs(engine, 'alpine', '3.19');
  await removeContainersOf(engine, [VM, 2]);
  deleteLink('one-1-0');
  deleteLink('one-2-0');
  createBridge('br-dv');
});

test.after.always(async () => {
  const engine = await realEngine();
  await engine.removeImage('alpine:3.19').catch(() => undefined); // only the tag: the base image stays
  await removeContainersOf(engine, [VM, 2]);
  deleteLink('one-1-0');
  deleteLink('one-2-0');
  deleteBridge('br-dv');
});

const NAME = 'one-1';
const deployArgv = (n: number) => [`/var/lib/one//datastores/100/1/deployment.${n}`, 'localhost', '1', 'localhost'];
const checkpointArgv = ['dockvisor-1', '/var/lib/one//datastores/100/1/checkpoint', 'localhost', '1', 'localhost'];
const restoreArgv = ['/var/lib/one//datastores/100/1/checkpoint', 'localhost', 'dockvisor-1', '1', 'localhost'];
const resumeFromPoweroff = (n: number) => act('deploy', deployArgv(n), 'deploy-resume-from-poweroff.stdin.vm.xml');

// Each test below starts from the state it needs, reached from wherever the one before left VM 1: the recording
// walks VM 1 alone through these verbs, and a test that follows the recorded order finds it already there.

type Stop = 'poweroff' | 'poweroff --hard';
const stops: Record<Stop, () => Promise<unknown>> = {
  poweroff: () => act('shutdown', idArgv, 'shutdown-poweroff.stdin.xml'),
  'poweroff --hard': () => act('cancel', idArgv, 'cancel-poweroff-hard.stdin.xml'),
};
/** How the last test stopped VM 1, and the pid it had when the last test suspended it; cleared once it runs again. */
let stoppedBy: Stop | undefined;
let suspendedPid: number | undefined;

/** VM 1 running and not paused: deployed as recorded when missing, resumed when stopped or suspended. */
async function runningVm() {
  const engine = await realEngine();
  const found = await engine.findContainer(NAME);
  if (!found) await act('deploy', deployArgv(0), 'deploy.stdin.vm.xml');
  else if (found.State.Paused) await act('restore', restoreArgv, 'restore.stdin.xml');
  else if (!found.State.Running) await resumeFromPoweroff(1);
  stoppedBy = undefined;
  suspendedPid = undefined;
  return engine.inspectContainer(NAME);
}

/** Stops a running VM 1 with `stop`, after writing data in its root disk that the resume must find. */
async function stopWithData(stop: Stop): Promise<void> {
  const container = await runningVm();
  writeInside(container.State.Pid, '/root/data', 'kept');
  await stops[stop]();
  stoppedBy = stop;
}

/** VM 1 stopped by `stop` with that data written: the previous test's stop when it was the same, else a new one. */
async function stoppedWithData(stop: Stop): Promise<void> {
  const found = await (await realEngine()).findContainer(NAME);
  if (stoppedBy === stop && found && !found.State.Running) return;
  await stopWithData(stop);
}

/** Suspends a running VM 1 after writing data in its root disk; returns the pid its first process had. */
async function suspendWithData(): Promise<number> {
  const container = await runningVm();
  writeInside(container.State.Pid, '/root/data', 'kept');
  await act('save', checkpointArgv, 'save.stdin.xml');
  suspendedPid = container.State.Pid;
  return suspendedPid;
}

/** VM 1 suspended with that data written: the previous test's suspend when there was one, else a new one. */
async function suspendedWithData(): Promise<number> {
  const found = await (await realEngine()).findContainer(NAME);
  if (found?.State.Paused && suspendedPid !== undefined) return suspendedPid;
  return suspendWithData();
}

test.serial('deploy prints only the deploy id and runs the container the recorded document describes', async (t) => {
  const engine = await realEngine();
  const deploy = await act('deploy', deployArgv(0), 'deploy.stdin.vm.xml');
  t.is(deploy.stdout, 'one-1\n', 'deploy prints only the deploy id');

  const container = await engine.inspectContainer(NAME);
  t.true(container.State.Running);
  t.is(container.Config.Hostname, 'dv-vm-1');
  t.true(container.Config.Env!.includes('FOO=bar'), 'CONTEXT variables are in the environment');
  t.deepEqual(container.Config.Cmd, ['sleep', 'infinity']);
  t.is(container.HostConfig.Memory, 128 * 1024 * 1024);
  t.is(container.HostConfig.CpuQuota, 50_000);
  t.is(container.HostConfig.NetworkMode, 'none');
});

test.serial('deploy plugs the NIC into br-dv as one-1-0, with the recorded address and MAC inside', async (t) => {
  const container = await runningVm();
  t.true(linkExists('one-1-0'), 'the host end is named after NIC/TARGET');
  t.is(readFileSync('/sys/class/net/one-1-0/master/uevent', 'utf8').match(/INTERFACE=(\S+)/)?.[1], 'br-dv');
  const eth0 = ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0');
  t.regex(eth0, /inet 10\.77\.0\.10\/24/);
  t.regex(ipInside(container.State.Pid, '-o', 'link', 'show', 'dev', 'eth0'), /02:00:0a:4d:00:0a/);
});

test.serial('reboot leaves the VM running with its network back', async (t) => {
  await runningVm();
  await act('reboot', idArgv, 'reboot.stdin.xml');
  const container = await (await realEngine()).inspectContainer(NAME);
  t.true(container.State.Running);
  t.regex(ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0'), /10\.77\.0\.10/, 'networking is back after reboot');
});

test.serial('reset leaves the VM with its network back', async (t) => {
  await runningVm();
  await act('reset', idArgv, 'reset.stdin.xml');
  const container = await (await realEngine()).inspectContainer(NAME);
  t.regex(ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0'), /10\.77\.0\.10/, 'networking is back after reset');
});

test.serial('poweroff stops the container and removes its veth', async (t) => {
  await stopWithData('poweroff');
  const container = await (await realEngine()).inspectContainer(NAME);
  t.false(container.State.Running, 'poweroff stops the container');
  t.false(linkExists('one-1-0'));
});

test.serial('resume from poweroff prints the deploy id and finds the data and the address', async (t) => {
  await stoppedWithData('poweroff');
  const resumed = await resumeFromPoweroff(1);
  t.is(resumed.stdout, 'one-1\n');
  const container = await (await realEngine()).inspectContainer(NAME);
  t.is(readInside(container.State.Pid, '/root/data').trim(), 'kept', 'poweroff keeps the data');
  t.regex(ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0'), /10\.77\.0\.10/);
});

test.serial('poweroff --hard stops the container', async (t) => {
  await stopWithData('poweroff --hard');
  t.false((await (await realEngine()).inspectContainer(NAME)).State.Running, 'poweroff --hard stops the container');
});

test.serial('resume from poweroff --hard finds the data', async (t) => {
  await stoppedWithData('poweroff --hard');
  await resumeFromPoweroff(2);
  const container = await (await realEngine()).inspectContainer(NAME);
  t.is(readInside(container.State.Pid, '/root/data').trim(), 'kept', 'poweroff --hard keeps the data');
});

test.serial('suspend freezes the container', async (t) => {
  await suspendWithData();
  t.true((await (await realEngine()).inspectContainer(NAME)).State.Paused, 'suspend freezes the container');
});

test.serial('resume from suspend continues the same processes and finds the data', async (t) => {
  const pidBefore = await suspendedWithData();
  await act('restore', restoreArgv, 'restore.stdin.xml');
  const container = await (await realEngine()).inspectContainer(NAME);
  t.true(container.State.Running && !container.State.Paused);
  t.is(container.State.Pid, pidBefore, 'resume from suspend continues the same processes');
  t.is(readInside(container.State.Pid, '/root/data').trim(), 'kept', 'suspend keeps the data');
});

test.serial('terminate removes the container, its veth and any snapshot image', async (t) => {
  const engine = await realEngine();
  await runningVm();
  await act('shutdown', idArgv, 'shutdown-terminate.stdin.xml');
  t.deepEqual(await containersOf(engine, [VM]), [], 'terminate removes the container and its data');
  t.false(linkExists('one-1-0'), 'terminate leaves no veth');
  t.deepEqual(await engine.listImages(['io.dockvisor.snapshot-of=one-1']), [], 'terminate leaves no snapshot image');
});

test.serial('terminate of a VM that is already gone succeeds', async (t) => {
  if (await (await realEngine()).findContainer(NAME)) await act('shutdown', idArgv, 'shutdown-terminate.stdin.xml');
  const again = await runAction('shutdown', idArgv, fixture('shutdown-terminate.stdin.xml'));
  t.is(again.code, 0, 'shutdown of a VM that is already gone succeeds');
});

test.serial('terminate --hard removes a running VM at once', async (t) => {
  const engine = await realEngine();
  // The recording has no deploy of VM 2; its <VM> document inside the cancel data is what oned deployed.
  const vm2 = /<VM>.*<\/VM>/s.exec(fixture('cancel-terminate-hard.stdin.xml'))![0];
  const deploy = await runAction('deploy', ['/var/lib/one//datastores/100/2/deployment.0', 'localhost', '2', 'localhost'], vm2);
  t.is(deploy.stdout, 'one-2\n', deploy.stderr);
  t.true(linkExists('one-2-0'));
  await act('cancel', ['dockvisor-2', 'localhost', '2', 'localhost'], 'cancel-terminate-hard.stdin.xml');
  t.deepEqual(await containersOf(engine, [2]), []);
  t.false(linkExists('one-2-0'));
});
