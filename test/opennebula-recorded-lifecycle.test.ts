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

test.serial('the recorded lifecycle: deploy, reboot, poweroff and resume keep data, suspend and resume, terminate removes everything', async (t) => {
  const engine = await realEngine();
  const deploy = await act('deploy', ['/var/lib/one//datastores/100/1/deployment.0', 'localhost', '1', 'localhost'], 'deploy.stdin.vm.xml');
  t.is(deploy.stdout, 'one-1\n', 'deploy prints only the deploy id');

  let container = await engine.inspectContainer('one-1');
  t.true(container.State.Running);
  t.is(container.Config.Hostname, 'dv-vm-1');
  t.true(container.Config.Env!.includes('FOO=bar'), 'CONTEXT variables are in the environment');
  t.deepEqual(container.Config.Cmd, ['sleep', 'infinity']);
  t.is(container.HostConfig.Memory, 128 * 1024 * 1024);
  t.is(container.HostConfig.CpuQuota, 50_000);
  t.is(container.HostConfig.NetworkMode, 'none');
  t.true(linkExists('one-1-0'), 'the host end is named after NIC/TARGET');
  t.is(readFileSync('/sys/class/net/one-1-0/master/uevent', 'utf8').match(/INTERFACE=(\S+)/)?.[1], 'br-dv');
  const eth0 = ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0');
  t.regex(eth0, /inet 10\.77\.0\.10\/24/);
  t.regex(ipInside(container.State.Pid, '-o', 'link', 'show', 'dev', 'eth0'), /02:00:0a:4d:00:0a/);
  writeInside(container.State.Pid, '/root/data', 'kept');

  await act('reboot', idArgv, 'reboot.stdin.xml');
  container = await engine.inspectContainer('one-1');
  t.true(container.State.Running);
  t.regex(ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0'), /10\.77\.0\.10/, 'networking is back after reboot');

  await act('reset', idArgv, 'reset.stdin.xml');
  container = await engine.inspectContainer('one-1');
  t.regex(ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0'), /10\.77\.0\.10/, 'networking is back after reset');

  await act('shutdown', idArgv, 'shutdown-poweroff.stdin.xml');
  container = await engine.inspectContainer('one-1');
  t.false(container.State.Running, 'poweroff stops the container');
  t.false(linkExists('one-1-0'));

  const resumed = await act(
    'deploy',
    ['/var/lib/one//datastores/100/1/deployment.1', 'localhost', '1', 'localhost'],
    'deploy-resume-from-poweroff.stdin.vm.xml',
  );
  t.is(resumed.stdout, 'one-1\n');
  container = await engine.inspectContainer('one-1');
  t.is(readInside(container.State.Pid, '/root/data').trim(), 'kept', 'poweroff keeps the data');
  t.regex(ipInside(container.State.Pid, '-o', 'addr', 'show', 'dev', 'eth0'), /10\.77\.0\.10/);

  await act('cancel', idArgv, 'cancel-poweroff-hard.stdin.xml');
  t.false((await engine.inspectContainer('one-1')).State.Running, 'poweroff --hard stops the container');
  await act('deploy', ['/var/lib/one//datastores/100/1/deployment.2', 'localhost', '1', 'localhost'], 'deploy-resume-from-poweroff.stdin.vm.xml');
  container = await engine.inspectContainer('one-1');
  t.is(readInside(container.State.Pid, '/root/data').trim(), 'kept', 'poweroff --hard keeps the data');

  await act('save', ['dockvisor-1', '/var/lib/one//datastores/100/1/checkpoint', 'localhost', '1', 'localhost'], 'save.stdin.xml');
  container = await engine.inspectContainer('one-1');
  t.true(container.State.Paused, 'suspend freezes the container');
  const pidBefore = container.State.Pid;
  await act('restore', ['/var/lib/one//datastores/100/1/checkpoint', 'localhost', 'dockvisor-1', '1', 'localhost'], 'restore.stdin.xml');
  container = await engine.inspectContainer('one-1');
  t.true(container.State.Running && !container.State.Paused);
  t.is(container.State.Pid, pidBefore, 'resume from suspend continues the same processes');
  t.is(readInside(container.State.Pid, '/root/data').trim(), 'kept', 'suspend keeps the data');

  await act('shutdown', idArgv, 'shutdown-terminate.stdin.xml');
  t.deepEqual(await containersOf(engine, [VM]), [], 'terminate removes the container and its data');
  t.false(linkExists('one-1-0'), 'terminate leaves no veth');
  t.deepEqual(await engine.listImages(['io.dockvisor.snapshot-of=one-1']), [], 'terminate leaves no snapshot image');

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
