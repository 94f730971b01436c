import test from 'ava';
import nock from 'nock';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LABEL_OWNER, OWNER_VALUE } from '../drivers/core/labels.ts';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { removeHost } from '../drivers/machine/host-removal.ts';
import { importHost } from '../drivers/machine/host-transfer.ts';
import { silentProgress, type ProvisionProgress } from '../drivers/machine/provision/progress.ts';
import { createHostFromTemplate, type TemplateHostOptions } from '../drivers/machine/template-host.ts';
import { connectOpenNebula } from '../drivers/opennebula/rpc/host-registration.ts';
import { connectOpenNebulaVms } from '../drivers/opennebula/rpc/vm-hosts.ts';
import { ONED, recordedResponse } from './helpers/oned-mock.ts';
import { BASE_IMAGE, repoRoot, stateDir } from './helpers/paths.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { TemplateOned } from './helpers/template-oned.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

const run = promisify(execFile);

// The VM OpenNebula makes is a network-namespace host with its own sshd and engine, standing at the address the
// recorded VM has (rewritten into this file's network); oned is the recorded exchanges of OpenNebula 7.4.
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const vmHost = new TestHost('dvt-otpl-vm', ids.address(0, 10), bridge, ids.cidr(1, 1));
const ONE_USER = 'dvtotpl';
const NAME = 'dvhost1';
const work = join(stateDir, 'host-from-template');
const config = join(work, 'config');
const store = new HostStore(join(config, 'dockvisor', 'hosts'));
const keyFile = join(config, 'dockvisor', 'keys', NAME);
const knownHosts = join(work, 'known_hosts');
const oneAuth = join(work, 'one_auth');
const env = { ...process.env, ONE_XMLRPC: `${ONED}/RPC2`, ONE_AUTH: oneAuth, XDG_CONFIG_HOME: config };
const clouds = { registration: connectOpenNebula, vms: connectOpenNebulaVms, pollIntervalMs: 200 };
const authorizedKeys = () => join(stateDir, `sshd-${vmHost.name}`, 'authorized_keys');
let clientKey = '';
// The guest's contextualisation: the key in the VM's CONTEXT is what its sshd accepts.
const oned = new TemplateOned((publicKey) => writeFileSync(authorizedKeys(), `${clientKey}${publicKey}\n`, { mode: 0o600 }));
let cliEnv: NodeJS.ProcessEnv = env;

const options = (extra: Partial<TemplateHostOptions> = {}): TemplateHostOptions => ({
  template: 'docker-host',
  cpu: 0.5,
  vcpu: 1,
  memoryMb: 96,
  sshUser: 'root',
  startTimeoutMs: 20_000,
  engineSocket: vmHost.engine.socket,
  oneUser: ONE_USER,
  probeImage: BASE_IMAGE,
  register: { clusterId: -1, hostName: 'fixture-host' },
  ...extra,
});

const createFlags = () => [
  'host',
  'create',
  NAME,
  '--opennebula-template',
  'docker-host',
  '--cpu',
  '0.5',
  '--vcpu',
  '1',
  '--memory',
  '96',
  '--start-timeout',
  '30',
  '--engine-socket',
  vmHost.engine.socket,
  '--one-user',
  ONE_USER,
  '--probe-image',
  BASE_IMAGE,
  '--one-name',
  'fixture-host',
  '--known-hosts',
  knownHosts,
];

function forgetOneUser(): void {
  execFileSync('sh', ['-c', `userdel -r ${ONE_USER} 2>/dev/null; rm -f /etc/sudoers.d/dockvisor-${ONE_USER}; true`]);
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), ...args], { env: cliEnv, timeout: 100_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs `dockvisor host create` and kills it (SIGKILL) once its progress or oned shows `when`. */
async function createKilledWhen(when: RegExp | (() => boolean)): Promise<string> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), ...createFlags()], { env: cliEnv });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (typeof when === 'function' ? when() : when.test(stderr)) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await exited;
  return stderr;
}

/** Nothing of the host is left: no record, no key, no VM, no OpenNebula host. */
function assertNothingLeft(t: import('ava').ExecutionContext) {
  t.is(store.find(NAME), undefined, 'no host record');
  t.false(existsSync(keyFile), 'no key file');
  t.true(!oned.vmExists || oned.vmTerminated, 'no VM left running');
  t.false(oned.hostAllocated, 'no OpenNebula host');
}

test.before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  forgetOneUser();
  createBridge(bridge, ids.cidr(0, 1));
  await vmHost.start();
  clientKey = readFileSync(authorizedKeys(), 'utf8');
  // Until OpenNebula's contextualisation authorises the host's key, the VM's sshd knows no key of ours.
  writeFileSync(authorizedKeys(), clientKey, { mode: 0o600 });
  writeFileSync(oneAuth, 'oneadmin:SECRET\n', { mode: 0o600 });
  cliEnv = { ...env, ONE_XMLRPC: await oned.listen() };
  nock.disableNetConnect();
  nock.enableNetConnect((host) => !host.startsWith('oned.test'));
  nock(ONED)
    .persist()
    .post('/RPC2')
    // nock 15 hands a reply function the request itself.
    .reply(async (request: Request) => {
      const answer = oned.answer(await request.text());
      return [answer.status, answer.body, { 'Content-Type': 'text/xml' }];
    });
});

test.beforeEach(() => {
  oned.reset();
});

// What a failed test left would fail the next ones too.
test.afterEach.always((t) => {
  if (t.passed) return;
  store.remove(NAME);
  rmSync(keyFile, { force: true });
});

test.after.always(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  oned.close();
  await vmHost.stop().catch(() => undefined);
  deleteBridge(bridge);
  forgetOneUser();
});

test.serial('create instantiates the template with a key made for the host, waits for RUNNING and SSH, provisions and registers it', async (t) => {
  const lines: string[] = [];
  const progress: ProvisionProgress = {
    started() {},
    finished: (title, detail) => lines.push(`done ${title}: ${detail}`),
    failed: (title, reason) => lines.push(`failed ${title}: ${reason}`),
    waiting: (title, state) => lines.push(`waiting ${title}: ${state}`),
  };
  const summary = await createHostFromTemplate(store, NAME, options(), { knownHostsFile: knownHosts, env }, progress, clouds);
  t.deepEqual(oned.unexpected, [], 'every call was one oned was recorded answering');
  t.is(oned.count('one.template.instantiate'), 1);
  const record = store.get(NAME);
  t.is(record.vm?.id, 518);
  t.deepEqual(record.vm?.template, { id: 8, name: 'docker-host' });
  t.is(record.ssh.address, vmHost.address);
  t.is(record.ssh.identityFile, keyFile);
  t.is(statSync(keyFile).mode & 0o777, 0o600);
  t.false(JSON.stringify(record).includes('PRIVATE KEY'), 'the record holds the path, never the key');
  t.is(record.oneHostId, 2);
  t.true(Object.values(record.steps).every((step) => step.done));
  t.true(summary.changes >= 4);
  t.true(lines.includes('waiting VM 518: PENDING'), lines.join('\n'));
  t.true(lines.includes('waiting VM 518: ACTIVE/BOOT'), lines.join('\n'));
  t.true(lines.includes(`done VM 518: RUNNING at ${vmHost.address}`));
  t.true(readFileSync(authorizedKeys(), 'utf8').includes(`dockvisor-host-${NAME}`), "the VM's context authorised the host's key");
  t.true((await vmHost.engine.client().info()).LiveRestoreEnabled, 'provisioned for real over SSH');

  const listed = await cli('host', 'ls', '--json', '--timeout', '5000');
  t.is(listed.code, 0, listed.stderr);
  const [status] = JSON.parse(listed.stdout) as Array<{ name: string; state: string; vm: { id: number; state: string } }>;
  t.like(status, { name: NAME, state: 'Running', vm: { id: 518, state: 'ACTIVE/RUNNING' } });
  const table = await cli('host', 'ls', '--timeout', '5000');
  t.regex(table.stdout, /^NAME .* OPENNEBULA\s+VM\s+ERROR$/m);
  t.regex(table.stdout, /^dvhost1\s+root@198\.18\.210\.10\s+Running .* 518 ACTIVE\/RUNNING/m);
  const single = await cli('host', 'status', NAME, '--timeout', '5000');
  t.is(single.stdout, 'Running; VM 518 ACTIVE/RUNNING\n');
});

test.serial('rm refuses while dockvisor VMs run on the host, then unregisters it and terminates its VM', async (t) => {
  oned.vmExists = true;
  oned.hostAllocated = true;
  const engine = vmHost.engine.client();
  const vm = `one-${ids.vm(0)}`;
  await engine.createContainer(vm, { Image: BASE_IMAGE, Cmd: ['sleep', '3600'], Labels: { [LABEL_OWNER]: OWNER_VALUE }, HostConfig: { NetworkMode: 'none' } });
  await engine.startContainer(vm);
  const refused = await cli('host', 'rm', NAME);
  t.is(refused.code, 1);
  t.regex(
    refused.stderr,
    new RegExp(`^dockvisor: 1 dockvisor VM\\(s\\) exist on ${NAME} \\(${vm}\\): terminating VM 518 would destroy them; add --force to do it anyway\\n$`),
  );
  t.truthy(store.find(NAME));
  t.is(oned.count('one.vm.action'), 0);
  await engine.removeContainer(vm);
  await engine.close();

  const lines: string[] = [];
  await removeHost(store, NAME, { purge: false, force: false, env, cloud: connectOpenNebula, vms: connectOpenNebulaVms, say: (line) => lines.push(line) });
  t.deepEqual(lines, [`${NAME}: OpenNebula host 2 removed`, `${NAME}: VM 518 terminated`, `${NAME}: removed from the host store`]);
  t.deepEqual(oned.unexpected, []);
  assertNothingLeft(t);
});

const killPoints: Array<[string, RegExp | (() => boolean), (t: import('ava').ExecutionContext) => void]> = [
  ['while oned makes the VM, before its id is known', () => oned.count('one.template.instantiate') > 0, (t) => t.is(store.get(NAME).vm?.id, undefined)],
  ['once the VM id is recorded', /✔ VM from template docker-host \(8\): VM 518/, (t) => t.is(store.get(NAME).vm?.id, 518)],
  ['while the VM is PENDING', /VM 518: PENDING/, (t) => t.is(store.get(NAME).vm?.id, 518)],
  ['while waiting for SSH', /✔ VM 518: RUNNING/, (t) => t.is(store.get(NAME).ssh.address, vmHost.address)],
  ['in the middle of provisioning', /✔ engine: /, (t) => t.true(store.get(NAME).steps.ssh?.done)],
  ['as OpenNebula registers the host', /✔ OpenNebula registration: /, (t) => t.true(oned.hostAllocated)],
];

for (const [when, trigger, check] of killPoints) {
  test.serial(`a create killed ${when} is resumed by host provision: one VM, one record, one OpenNebula host`, async (t) => {
    // oned takes its time over the instantiate, as a busy front-end does; the kill comes meanwhile.
    if (when.startsWith('while oned')) oned.instantiateDelayMs = 3000;
    await createKilledWhen(trigger);
    t.truthy(store.find(NAME), 'the record outlives the kill');
    check(t);
    oned.instantiateDelayMs = 0;
    const resumed = await cli('host', 'provision', NAME, '--known-hosts', knownHosts);
    t.is(resumed.code, 0, resumed.stderr);
    t.regex(resumed.stdout, new RegExp(`^${NAME}: provisioned, `));
    t.is(oned.count('one.template.instantiate'), 1, 'one VM');
    t.is(oned.count('one.vm.action'), 0, 'never terminated');
    t.deepEqual(
      store.list().map((record) => record.name),
      [NAME],
    );
    const record = store.get(NAME);
    t.is(record.vm?.id, 518);
    t.is(record.oneHostId, 2);
    t.true(Object.values(record.steps).every((step) => step.done));
    t.true(oned.hostAllocated);
    t.deepEqual(oned.unexpected, []);
    const removed = await cli('host', 'rm', NAME);
    t.is(removed.code, 0, removed.stderr);
    assertNothingLeft(t);
  });
}

test.serial('rm of a create killed before oned gave the VM id finds the VM by its name and key and terminates it', async (t) => {
  oned.instantiateDelayMs = 3000;
  await createKilledWhen(() => oned.count('one.template.instantiate') > 0);
  t.is(store.get(NAME).vm?.id, undefined);
  t.true(oned.vmExists);
  const removed = await cli('host', 'rm', NAME);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout, `${NAME}: VM 518 terminated\n${NAME}: removed from the host store\n`);
  assertNothingLeft(t);
  t.deepEqual(oned.unexpected, []);
});

test.serial('a VM of the host’s name without the host’s key is neither adopted by provision nor terminated by rm', async (t) => {
  oned.instantiateDelayMs = 3000;
  const killed = await createKilledWhen(() => oned.count('one.template.instantiate') > 0);
  t.truthy(store.find(NAME), killed);
  t.is(store.find(NAME)?.vm?.id, undefined);
  // VM 518 now holds another key: a VM of the same name that some other user made.
  oned.foreignKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherUsersKeyOtherUsersKeyOtherUsersKey dockvisor-host-dvhost1';
  const foreign = `VM 518 is named ${NAME} without this host's key in its context: neither adopted nor terminated`;
  oned.instantiateAnswer = () => recordedResponse('template-instantiate-quota');
  const resumed = await cli('host', 'provision', NAME, '--known-hosts', knownHosts);
  t.not(resumed.code, 0);
  t.true(resumed.stderr.includes(`VMs named ${NAME}: ${foreign}`), resumed.stderr);
  t.is(oned.count('one.template.instantiate'), 2, 'a VM of its own was asked for, not the other one adopted');
  t.is(store.find(NAME), undefined, 'the refused create left nothing');
  t.is(oned.count('one.vm.action'), 0, 'never terminated');

  oned.reset();
  oned.instantiateDelayMs = 3000;
  const killedAgain = await createKilledWhen(() => oned.count('one.template.instantiate') > 0);
  t.truthy(store.find(NAME), killedAgain);
  oned.foreignKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherUsersKeyOtherUsersKeyOtherUsersKey dockvisor-host-dvhost1';
  const removed = await cli('host', 'rm', NAME);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout, `${NAME}: ${foreign}\n${NAME}: removed from the host store\n`);
  t.is(oned.count('one.vm.action'), 0, 'never terminated');
  t.false(oned.vmTerminated);
  t.is(store.find(NAME), undefined);
  t.deepEqual(oned.unexpected, []);
});

/** A failed create: one line naming the cause, the VM terminated when there was one, nothing left. */
async function failsWithNothingLeft(t: import('ava').ExecutionContext, message: RegExp, extra: Partial<TemplateHostOptions> = {}, knownHostsFile = knownHosts) {
  const error = await t.throwsAsync(createHostFromTemplate(store, NAME, options(extra), { knownHostsFile, env }, silentProgress, clouds));
  t.regex(error!.message, message);
  t.false(error!.message.includes('\n'), 'one line');
  assertNothingLeft(t);
  t.deepEqual(oned.unexpected, []);
}

test.serial('a VM that fails to boot is refused with OpenNebula’s own error text and terminated', async (t) => {
  // The recorded boot failure (VM 519) seen as the VM this create made.
  oned.runningAnswer = () => recordedResponse('vm-info-boot-failure').replace(/&lt;ID&gt;519&lt;\/ID&gt;/, '&lt;ID&gt;518&lt;/ID&gt;');
  await failsWithNothingLeft(
    t,
    /^VM 518 failed to boot: Sun Nov 29 22:22:54 2026: DEPLOY: dockvisor deploy: image dockvisor\/missing-image:none: engine answered 500: .*; VM 518 terminated, host dvhost1 forgotten$/,
  );
  t.true(oned.vmTerminated);
});

test.serial('a VM that never gets an address is terminated within --start-timeout', async (t) => {
  oned.runningAnswer = () => recordedResponse('vm-info-running-at-test-host').replace(/&lt;IP&gt;&lt;!\[CDATA\[198\.18\.210\.10\]\]&gt;&lt;\/IP&gt;/, '');
  const started = Date.now();
  await failsWithNothingLeft(t, /^VM 518 got no address within \d+ s \(its first NIC has no EXTERNAL_IP, IP or IP6_GLOBAL\); VM 518 terminated/, {
    startTimeoutMs: 2000,
  });
  t.true(Date.now() - started < 15_000);
});

test.serial('an address outside what the NIC says, or one made of entities, is refused, never connected to', async (t) => {
  oned.runningAnswer = () =>
    recordedResponse('vm-info-running-at-test-host').replace(/CDATA\[198\.18\.210\.10\]\]&gt;&lt;\/IP&gt;/, 'CDATA[198.18.99.10]]&gt;&lt;/IP&gt;');
  await failsWithNothingLeft(
    t,
    /^VM 518: the VM's NIC gives IP "198\.18\.99\.10", outside the NIC's network 198\.18\.210\.0\/255\.255\.255\.0; refused; VM 518 terminated/,
  );
  oned.reset();
  // An IP written with entities: the XML decodes them, and what they spell is no address.
  oned.runningAnswer = () =>
    recordedResponse('vm-info-running-at-test-host').replace(
      /&lt;IP&gt;&lt;!\[CDATA\[198\.18\.210\.10\]\]&gt;/,
      '&lt;IP&gt;198.18.210.10&amp;amp;&amp;lt;$(reboot)&amp;gt;',
    );
  await failsWithNothingLeft(t, /^VM 518: the VM's NIC gives IP "198\.18\.210\.10&<\$\(reboot\)>", which is not an IP address; refused; VM 518 terminated/);
  oned.reset();
  oned.runningAnswer = () =>
    recordedResponse('vm-info-running-at-test-host').replace('&lt;VM&gt;', '&lt;!DOCTYPE VM [&lt;!ENTITY x "198.18.210.10"&gt;]&gt;&lt;VM&gt;');
  await failsWithNothingLeft(t, /^the VM document declares a DOCTYPE or entities, which OpenNebula never sends; refused; VM 518 terminated/);
});

test.serial('SSH that never comes up is refused within --start-timeout and the VM terminated', async (t) => {
  // The guest never authorises the key: the VM runs, its sshd answers, the host's key is never accepted.
  const answer = oned.answer.bind(oned);
  oned.answer = (body) => {
    const reply = answer(body);
    if (/template\.instantiate/.test(body)) writeFileSync(authorizedKeys(), clientKey, { mode: 0o600 });
    return reply;
  };
  t.teardown(() => (oned.answer = answer));
  await failsWithNothingLeft(t, /^SSH to root@198\.18\.210\.10 never came up within \d+ s: .*; VM 518 terminated, host dvhost1 forgotten$/, {
    startTimeoutMs: 3000,
  });
});

test.serial('a known_hosts line with another key for the address is refused at once, not waited out', async (t) => {
  const stale = join(work, 'known_hosts.stale');
  writeFileSync(stale, `${vmHost.address} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l6GKLl\n`);
  const started = Date.now();
  await failsWithNothingLeft(
    t,
    /^the host key of 198\.18\.210\.10:22 changed: .*known_hosts\.stale:1 holds another key.*; VM 518 terminated, host dvhost1 forgotten$/,
    {},
    stale,
  );
  t.true(Date.now() - started < 10_000, 'well within --start-timeout');
});

test.serial('refusals before any VM: missing template, quota exceeded, hostile names, one line each and nothing left', async (t) => {
  await failsWithNothingLeft(t, /^OpenNebula has no VM template named "no-such-template"$/, { template: 'no-such-template' });
  t.is(oned.count('one.template.instantiate'), 0);
  for (const hostile of ['<TEMPLATE>docker-host</TEMPLATE>', 'docker-host"]\nCONTEXT=[X="1', '$(reboot)', '`id`; rm -rf /', 'docker-host&amp;']) {
    await failsWithNothingLeft(t, /^OpenNebula has no VM template named ".*"$/, { template: hostile });
    await failsWithNothingLeft(t, /^OpenNebula has no virtual network ".*"$/, { network: hostile });
  }
  t.is(oned.count('one.template.instantiate'), 0, 'nothing was asked of oned but lookups');
  oned.instantiateAnswer = () => recordedResponse('template-instantiate-quota');
  await failsWithNothingLeft(t, /^OpenNebula quota exceeded: \[one\.template\.instantiate\] User \[0\] : limit of 1 reached for VMS quota in VM\.$/);

  const attempts: string[][] = [
    ['host', 'create', 'bad;name', '--opennebula-template', 'docker-host'],
    ['host', 'create', NAME, '--opennebula-template', '<x>&amp;$(id)'],
    ['host', 'create', NAME, '--opennebula-template', 'docker-host', '--network', "accnet'; reboot; '"],
    ['host', 'create', NAME, '--opennebula-template', 'docker-host', '--ssh-user', 'root;reboot'],
    ['host', 'create', NAME, '--opennebula-template', 'docker-host', '--memory', '96MB'],
    ['host', 'create', NAME, '--opennebula-template', 'docker-host', '--cpu', '1e3'],
    ['host', 'create', NAME, '--opennebula-template', 'docker-host', '--ssh', 'root@198.18.210.10'],
  ];
  const lines: string[] = [];
  for (const args of attempts) {
    const result = await cli(...args);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, /^dockvisor: [^\n]+\n$/, `${args.join(' ')}: ${result.stderr}`);
    lines.push(result.stderr);
  }
  t.true(lines.includes('dockvisor: --ssh-user "root;reboot" is not a user name\n'), lines.join(''));
  assertNothingLeft(t);
  t.deepEqual(store.list(), []);

  // A bundle from another operator cannot smuggle text into what goes to oned.
  const bundle = (vm: unknown) =>
    JSON.stringify({
      format: 'dockvisor-host/1',
      host: { name: NAME, ssh: { user: 'root', address: vmHost.address, port: 22, hostKey: 'ssh-ed25519 AAAA' }, steps: {}, opennebula: null, vm },
    });
  for (const vm of [
    { template: { id: '8"]', name: 'x' }, startTimeoutMs: 1000 },
    { template: { id: 8, name: 'x' }, startTimeoutMs: 1000, cpu: '1"\nX="' },
    'vm',
  ]) {
    t.throws(() => importHost(store, bundle(vm), {}), { message: 'the host bundle has a malformed vm section' });
  }
  t.deepEqual(store.list(), []);
});
