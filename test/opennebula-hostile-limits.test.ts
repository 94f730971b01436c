import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { containerConfig } from '../drivers/core/container-config.ts';
import { defaultHostSettings } from '../drivers/core/host-settings.ts';
import { parseVmDocument } from '../drivers/opennebula/vm-document.ts';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, linksStartingWith } from './helpers/net.ts';
import { assertOneLineRefusal, runAction, testConfigPath, type ActionResult } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// Refusals at the edges of what oned sends: argv, sizes and limits. Each leaves the host as it was.
const ids = testIds(import.meta.filename);
const REFUSED = ids.vm(0);
const RUNNING = ids.vm(1);
const MANY_CPUS = ids.vm(2);
const UNSIZED = ids.vm(3);
const IDS = [REFUSED, RUNNING, MANY_CPUS, UNSIZED];
const bridge = ids.bridge('0');
const refused: VmDraft = { id: REFUSED, nics: [{ nicId: 0, bridge, ip: ids.address(0, 10) }] };
const running: VmDraft = { id: RUNNING, nics: [{ nicId: 0, bridge, ip: ids.address(0, 11) }] };

test.before(async () => {
  await removeContainersOf(await realEngine(), IDS);
  createBridge(bridge, ids.cidr(0, 1));
  const deployed = await runAction('deploy', deployArgv(RUNNING), vmXml(running));
  if (deployed.code !== 0) throw new Error(`deploy of VM ${RUNNING}: ${deployed.stderr}`);
});
test.after.always(async () => {
  await removeContainersOf(await realEngine(), IDS);
  deleteBridge(bridge);
});

/** A one-line refusal, and VM REFUSED has no container and no link. */
async function assertDeployRefused(t: ExecutionContext, result: ActionResult, pattern: RegExp): Promise<void> {
  assertOneLineRefusal(t, result, pattern);
  t.deepEqual(await containersOf(await realEngine(), [REFUSED]), [], 'no container was created');
  t.deepEqual(linksStartingWith(`one-${REFUSED}-`), [], 'no link was created');
}

/** VM RUNNING is still running, untouched. */
async function assertStillRunning(t: ExecutionContext): Promise<void> {
  const container = await (await realEngine()).inspectContainer(`one-${RUNNING}`);
  t.true(container.State.Running, `one-${RUNNING} is still running`);
}

const file = `/var/lib/one//datastores/100/${REFUSED}/deployment.0`;
const badDeployArgv: [string, string[], RegExp][] = [
  ['a VM id that is a path', [file, 'localhost', '../../etc', 'localhost'], /deploy: VM id "\.\.\/\.\.\/etc" on the command line is not a VM id/],
  ['a VM id that is a word', [file, 'localhost', 'abc', 'localhost'], /VM id "abc" on the command line is not a VM id/],
  ['a negative VM id', [file, 'localhost', '-1', 'localhost'], /VM id "-1" on the command line is not a VM id/],
  ['shell in the VM id', [file, 'localhost', `${REFUSED};touch x`, 'localhost'], /VM id "8250;touch x" on the command line is not a VM id/],
  ['no arguments at all', [], /deploy: expected 4 arguments \(<deployment file> <host> <vm id> <host>\), got 0/],
  ['the VM id left out', [file, 'localhost', 'localhost'], /expected 4 arguments .*, got 3/],
  ['one argument too many', [...deployArgv(REFUSED), 'extra'], /expected 4 arguments .*, got 5/],
  ['two different hosts', [file, 'localhost', String(REFUSED), 'otherhost'], /deploy: host "localhost" and host "otherhost" on the command line differ/],
  [
    'a host that is not a host name',
    [file, '-oProxyCommand=x', String(REFUSED), '-oProxyCommand=x'],
    /host "-oProxyCommand=x" on the command line is not a host name/,
  ],
  [
    'a deployment file of another VM',
    ['/var/lib/one//datastores/100/7/deployment.0', 'localhost', String(REFUSED), 'localhost'],
    /deployment file .* is not .*\/8250\/deployment\.<n>/,
  ],
  [
    'a deployment file that is not one',
    ['/etc/passwd', 'localhost', String(REFUSED), 'localhost'],
    /deployment file "\/etc\/passwd" on the command line is not/,
  ],
];

for (const [what, argv, pattern] of badDeployArgv) {
  test.serial(`deploy refuses ${what} on its command line and creates nothing`, async (t) => {
    await assertDeployRefused(t, await runAction('deploy', argv, vmXml(refused)), pattern);
  });
}

const badActionArgv: [string, string, string[], RegExp][] = [
  ['shutdown', 'a VM id that is a word', [`one-${RUNNING}`, 'localhost', 'abc', 'localhost'], /shutdown: VM id "abc" on the command line is not a VM id/],
  ['cancel', 'no arguments', [], /cancel: expected 4 arguments \(<deploy id> <host> <vm id> <host>\), got 0/],
  ['cleanup', 'a negative VM id', [`one-${RUNNING}`, 'localhost', '-1', 'localhost'], /cleanup: VM id "-1"/],
  ['reboot', 'the VM id of another VM', idArgv(REFUSED), /VM id 8250 on the command line does not match VM 8251 on stdin/],
  [
    'reset',
    'shell in the deploy id',
    [`one-${RUNNING};reboot`, 'localhost', String(RUNNING), 'localhost'],
    /reset: deploy id "one-8251;reboot" on the command line is not a deploy id/,
  ],
  ['save', 'the argv of shutdown', idArgv(RUNNING), /save: expected 5 arguments \(<deploy id> <checkpoint file> <host> <vm id> <host>\), got 4/],
  [
    'restore',
    'a relative checkpoint',
    ['checkpoint', 'localhost', `one-${RUNNING}`, String(RUNNING), 'localhost'],
    /restore: checkpoint file "checkpoint" on the command line is not an absolute path/,
  ],
  ['resize', 'the argv of shutdown', idArgv(RUNNING), /resize: expected 3 arguments \(<deploy id> <vm id> <host>\), got 4/],
  [
    'snapshot_create',
    'a VM id with a newline',
    [`one-${RUNNING}`, '0', `${RUNNING}\n`, 'localhost'],
    /snapshot_create: VM id "8251\?" on the command line is not a VM id/,
  ],
  ['snapshot_delete', 'no host', [`one-${RUNNING}`, 'snap-0', String(RUNNING)], /snapshot_delete: expected 4 arguments/],
  ['detach_nic', 'a path as the VM id', [`one-${RUNNING}`, '02:00:20:3b:00:01', '../../etc', 'localhost'], /detach_nic: VM id "\.\.\/\.\.\/etc"/],
  ['attach_nic', 'too few arguments', [`one-${RUNNING}`, '02:00:20:3b:00:01', String(RUNNING), 'localhost'], /attach_nic: expected 8 arguments/],
  [
    'prereconfigure',
    'a newline in the context target',
    [`one-${RUNNING}`, 'hdb\nx', String(RUNNING), 'localhost'],
    /prereconfigure: context target "hdb\?x" on the command line has control characters/,
  ],
  ['reconfigure', 'the argv of prereconfigure', [`one-${RUNNING}`, 'hdb', String(RUNNING), 'localhost'], /reconfigure: expected 5 arguments/],
  ['poll', 'a VM id with leading zeros', [`one-${RUNNING}`, 'localhost', `0${RUNNING}`, 'localhost'], /poll: VM id "08251" on the command line is not a VM id/],
];

for (const [action, what, argv, pattern] of badActionArgv) {
  test.serial(`${action} refuses ${what} on its command line and leaves the VM as it was`, async (t) => {
    assertOneLineRefusal(t, await runAction(action, argv, actionXml(running)), pattern);
    await assertStillRunning(t);
  });
}

test.serial('the argv oned passes to every action is accepted', async (t) => {
  const poll = await runAction('poll', idArgv(RUNNING), actionXml(running));
  t.is(poll.code, 0, poll.stderr);
  t.regex(poll.stdout, /^STATE=a /);
  const resize = await runAction('resize', [`one-${RUNNING}`, String(RUNNING), 'localhost'], actionXml(running));
  t.is(resize.code, 0, resize.stderr);
  const prereconfigure = await runAction('prereconfigure', [`one-${RUNNING}`, '', String(RUNNING), 'localhost'], actionXml(running));
  t.is(prereconfigure.code, 0, prereconfigure.stderr);
  await assertStillRunning(t);
});

// What this host has, read here independently of the driver.
const hostCpus = os.cpus().length;
const hostMemoryMb = Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);
const withoutSizes = (xml: string) => xml.replace(/<CPU>.*?<\/CPU>|<VCPU>.*?<\/VCPU>|<MEMORY>.*?<\/MEMORY>/g, '');

const badTemplates: [string, string, RegExp][] = [
  [
    'a NETWORK_MASK of 0',
    vmXml(refused).replace('<VN_MAD>', '<NETWORK_MASK>0.0.0.0</NETWORK_MASK><VN_MAD>'),
    /VM 8250 NIC 0: MASK is 0, not a usable prefix length/,
  ],
  [
    '16 TB of MEMORY',
    vmXml({ ...refused, memory: String(16 * 1024 * 1024) }),
    new RegExp(`^dockvisor deploy: VM 8250: MEMORY 16777216 MB is more than this host has \\(${hostMemoryMb} MB\\)$`),
  ],
  [
    '1 MB more MEMORY than the host has',
    vmXml({ ...refused, memory: String(hostMemoryMb + 1) }),
    new RegExp(`MEMORY ${hostMemoryMb + 1} MB is more than this host has`),
  ],
  [
    'one CPU more than the host has',
    vmXml({ ...refused, cpu: String(hostCpus + 1) }),
    new RegExp(`^dockvisor deploy: VM 8250: CPU ${hostCpus + 1} is more than this host has \\(${hostCpus} CPUs\\)$`),
  ],
  [
    'a NUL character reference in the NAME',
    vmXml(refused).replace(`<NAME>vm-${REFUSED}</NAME>`, '<NAME>web&#0;</NAME>'),
    /^dockvisor deploy: the VM document refers to a character XML 1\.0 forbids \(&#0;\)$/,
  ],
  [
    'a document declared as UTF-16',
    `<?xml version="1.0" encoding="UTF-16"?>${vmXml(refused)}`,
    /^dockvisor deploy: the VM document declares the encoding UTF-16; only UTF-8 is read$/,
  ],
  [
    'one VCPU more than the host has',
    vmXml({ ...refused, vcpu: String(hostCpus + 1) }),
    new RegExp(`VM 8250: VCPU ${hostCpus + 1} is more than this host has \\(${hostCpus} CPUs\\)`),
  ],
];

for (const [what, document, pattern] of badTemplates) {
  test.serial(`deploy refuses ${what} with one clear line and creates nothing`, async (t) => {
    await assertDeployRefused(t, await runAction('deploy', deployArgv(REFUSED), document), pattern);
  });
}

test.serial('a VM of more than 256 CPUs gets a container the engine starts: the weight is capped, the cap in cores kept', async (t) => {
  // Straight to the engine: no host here has the CPUs to deploy it through the action.
  const engine = await realEngine();
  const spec = { ...parseVmDocument(vmXml({ id: MANY_CPUS, cpu: '300', vcpu: '300' })).spec };
  await engine.createContainer(spec.containerName, containerConfig(spec, defaultHostSettings()));
  await engine.startContainer(spec.containerName);
  const container = await engine.inspectContainer(spec.containerName);
  t.true(container.State.Running);
  t.like(container.HostConfig, { CpuShares: 262_144, CpuQuota: 30_000_000 });
});

test.serial('resize refuses more MEMORY than the host has and leaves the limits as they were', async (t) => {
  const resize = await runAction('resize', [`one-${RUNNING}`, String(RUNNING), 'localhost'], actionXml({ ...running, memory: String(hostMemoryMb + 1) }));
  assertOneLineRefusal(t, resize, new RegExp(`VM 8251: MEMORY ${hostMemoryMb + 1} MB is more than this host has`));
  const container = await (await realEngine()).inspectContainer(`one-${RUNNING}`);
  t.is(container.HostConfig.Memory, 128 * 1024 * 1024);
});

test.serial('a template without MEMORY, CPU or VCPU gets the host default limits: 1 CPU and 512 MB unless configured', async (t) => {
  const engine = await realEngine();
  const document = withoutSizes(vmXml({ id: UNSIZED }));
  const deployed = await runAction('deploy', deployArgv(UNSIZED), document);
  t.is(deployed.code, 0, deployed.stderr);
  t.like((await engine.inspectContainer(`one-${UNSIZED}`)).HostConfig, {
    Memory: 512 * 1024 * 1024,
    MemorySwap: 512 * 1024 * 1024,
    CpuQuota: 100_000,
    CpuShares: 1024,
  });
  await removeContainersOf(engine, [UNSIZED]);

  const config = testConfigPath({ defaultLimits: { cpu: 0.25, memoryMb: 64 } }, 'hostile-limits-defaults.json');
  const small = await runAction('deploy', deployArgv(UNSIZED), document, config);
  t.is(small.code, 0, small.stderr);
  t.like((await engine.inspectContainer(`one-${UNSIZED}`)).HostConfig, { Memory: 64 * 1024 * 1024, CpuQuota: 25_000, CpuShares: 256 });
  await removeContainersOf(engine, [UNSIZED]);
});

const badDefaults: [string, unknown, RegExp][] = [
  ['a CPU of 0', { cpu: 0 }, /defaultLimits\.cpu must be a number above 0 and at most 4096/],
  ['a CPU that is text', { cpu: '1' }, /defaultLimits\.cpu must be a number above 0/],
  ['memory below 4 MB', { memoryMb: 2 }, /defaultLimits\.memoryMb must be a whole number from 4/],
  ['an unknown key', { disk: 10 }, /defaultLimits\.disk must be one of cpu, memoryMb/],
  ['a list', [1, 512], /defaultLimits must be an object/],
];

for (const [what, defaultLimits, pattern] of badDefaults) {
  test.serial(`host default limits with ${what} are refused in one line before anything is made`, async (t) => {
    const config = testConfigPath({ defaultLimits }, 'hostile-limits-bad-defaults.json');
    await assertDeployRefused(t, await runAction('deploy', deployArgv(REFUSED), vmXml(refused), config), pattern);
  });
}
