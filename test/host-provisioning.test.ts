import test from 'ava';
import nock from 'nock';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFileSync } from 'node:child_process';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { createHost, provisionHost, ProvisionError } from '../drivers/machine/provisioner.ts';
import type { ProvisionProgress } from '../drivers/machine/provision/progress.ts';
import { silentProgress } from '../drivers/machine/provision/progress.ts';
import { exportHost, importHost } from '../drivers/machine/host-transfer.ts';
import { removeHost } from '../drivers/machine/host-removal.ts';
import { upgradeHost } from '../drivers/machine/host-upgrade.ts';
import { connectOpenNebula } from '../drivers/opennebula/rpc/host-registration.ts';
import { LABEL_OWNER, OWNER_VALUE } from '../drivers/core/labels.ts';
import { callOf, ONED, recordedRequest, recordedResponse, replay } from './helpers/oned-mock.ts';
import { BASE_IMAGE, repoRoot, stateDir } from './helpers/paths.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

const run = promisify(execFile);

// Two netns hosts with their own sshd and engine; OpenNebula is oned's recorded answers (nock).
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const hostA = new TestHost('dvt-pa', ids.address(0, 11), bridge, ids.cidr(1, 1));
const hostB = new TestHost('dvt-pb', ids.address(0, 12), bridge, ids.cidr(2, 1));
const ONE_USER = 'dvtone';
const work = join(stateDir, 'host-provisioning');
const config = join(work, 'config');
const store = new HostStore(join(config, 'dockvisor', 'hosts'));
const knownHosts = join(work, 'known_hosts');
const key = join(work, 'id_ed25519');
const oneAuth = join(work, 'one_auth');
const env = { ...process.env, ONE_XMLRPC: `${ONED}/RPC2`, ONE_AUTH: oneAuth, XDG_CONFIG_HOME: config };
// The CLI runs in its own process, out of nock's reach: there oned is a loopback server answering the host pool call.
let cliEnv: NodeJS.ProcessEnv = env;
let onedServer: http.Server | undefined;

async function startLoopbackOned(): Promise<string> {
  onedServer = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const known = callOf(body) === callOf(recordedRequest('hostpool-info'));
      response.writeHead(known ? 200 : 500, { 'Content-Type': 'text/xml' }).end(known ? recordedResponse('hostpool-info') : '');
    });
  });
  await new Promise<void>((resolve) => onedServer!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(onedServer.address() as AddressInfo).port}/RPC2`;
}

function forgetOneUser(): void {
  execFileSync('sh', ['-c', `userdel -r ${ONE_USER} 2>/dev/null; rm -f /etc/sudoers.d/dockvisor-${ONE_USER}; true`]);
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), ...args], { env: cliEnv, timeout: 60_000 });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr, ms: Date.now() - started };
  }
}

const createOptions = (host: TestHost, register: false | { hostName: string; clusterId: number }) => ({
  ssh: `root@${host.address}`,
  identityFile: key,
  engineSocket: host.engine.socket,
  oneUser: ONE_USER,
  probeImage: BASE_IMAGE,
  // None arrives: the agent step says it starts with the remotes (test/host-agent.test.ts starts one).
  remotesDir: join(work, 'remotes'),
  register,
});

test.before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  forgetOneUser();
  createBridge(bridge, ids.cidr(0, 1));
  await Promise.all([hostA.start(), hostB.start()]);
  // One operator key for both hosts, as an operator would have.
  writeFileSync(key, hostA.ssh.privateKey, { mode: 0o600 });
  writeFileSync(join(stateDir, 'sshd-dvt-pb', 'authorized_keys'), execFileSync('ssh-keygen', ['-y', '-f', key]), { mode: 0o600 });
  writeFileSync(oneAuth, 'oneadmin:SECRET\n', { mode: 0o600 });
  cliEnv = { ...env, ONE_XMLRPC: await startLoopbackOned() };
  nock.disableNetConnect();
  nock.enableNetConnect((host) => !host.startsWith('oned.test'));
});

test.after.always(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  onedServer?.close();
  const results = await Promise.allSettled([hostA.stop(), hostB.stop()]);
  deleteBridge(bridge);
  forgetOneUser();
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

test.serial('create runs every step over SSH, registers the host with OpenNebula and records it', async (t) => {
  const allocate = replay('host-allocate');
  const info = replay('host-info', 2); // read back after allocating, then checked
  const summary = await createHost(
    store,
    'pa',
    createOptions(hostA, { hostName: 'fixture-host', clusterId: -1 }),
    { knownHostsFile: knownHosts, acceptNewHostKey: true, env },
    silentProgress,
    connectOpenNebula,
  );
  t.true(allocate.isDone() && info.isDone());
  t.true(summary.changes >= 4, `changes: ${summary.changes}`);
  const record = store.get('pa');
  t.is(record.oneHostId, 2);
  t.deepEqual(Object.keys(record.steps), [
    'ssh',
    'os',
    'engine',
    'tools',
    'runtime',
    'opennebula-tools',
    'engine-access',
    'sudoers',
    'engine-config',
    'engine-probe',
    'agent',
    'register',
  ]);
  t.true(Object.values(record.steps).every((step) => step.done));
  t.regex(record.steps.agent!.detail!, /^starts once the remotes are on the host/);
  t.regex(readFileSync(knownHosts, 'utf8'), /^198\.18\.73\.11 ssh-ed25519 AAAA/m, 'the accepted key is recorded the way OpenSSH records it');
  t.regex(
    readFileSync(`/etc/sudoers.d/dockvisor-${ONE_USER}`, 'utf8'),
    new RegExp(`^${ONE_USER} ALL=\\(root\\) NOPASSWD: /\\S+/ip, /\\S+/tc, /\\S+/nsenter, /\\S+/iptables, /\\S+/tee, .*/\\S+/kill$`, 'm'),
  );
  t.true(execFileSync('id', ['-nG', ONE_USER], { encoding: 'utf8' }).split(/\s+/).includes('docker'));
  const daemon = JSON.parse(readFileSync(hostA.engine.configFile, 'utf8'));
  t.is(daemon['live-restore'], true);
  t.deepEqual(daemon.labels, ['io.dockvisor.managed=true']);
  const engineInfo = await hostA.engine.client().info();
  t.true(engineInfo.LiveRestoreEnabled);
  t.deepEqual((await hostA.engine.client().listContainers(['io.dockvisor.probe=true'])).length, 0, 'no probe container is left');
  t.false(JSON.stringify(record).includes('SECRET'));
  t.false(JSON.stringify(record).includes('PRIVATE KEY'));
});

test.serial('provision on a healthy host changes nothing and does not restart the engine', async (t) => {
  const engine = hostA.engine.client();
  await engine.createContainer('dvt-prov-witness', { Image: BASE_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } });
  await engine.startContainer('dvt-prov-witness');
  const before = (await engine.inspectContainer('dvt-prov-witness')).State;
  const enginePid = readFileSync('/run/dvt-pa-engine.pid', 'utf8');
  const info = replay('host-info');
  const summary = await provisionHost(store, 'pa', { knownHostsFile: knownHosts, env }, silentProgress, connectOpenNebula);
  t.true(info.isDone());
  t.is(summary.changes, 0);
  t.is(readFileSync('/run/dvt-pa-engine.pid', 'utf8'), enginePid, 'same engine process');
  const after = (await engine.inspectContainer('dvt-prov-witness')).State;
  t.true(after.Running);
  t.is(after.StartedAt, before.StartedAt, 'the container was never restarted');
  await engine.removeContainer('dvt-prov-witness');
  await engine.close();
});

test.serial('an unknown host key needs --accept-new-host-key; a changed one is always refused', async (t) => {
  const error = await t.throwsAsync(createHost(store, 'pb', createOptions(hostB, false), { knownHostsFile: knownHosts, env }, silentProgress), {
    instanceOf: ProvisionError,
  });
  t.regex(error!.message, /host key of 198\.18\.73\.12:22 .* is not in .*known_hosts; check it and pass --accept-new-host-key/);
  t.is(store.get('pb').steps.ssh?.done, false, 'the record stays, to resume');
  store.remove('pb');

  const otherKnownHosts = join(work, 'known_hosts.changed');
  const otherKey = readFileSync(join(stateDir, 'sshd-dvt-pa', 'host_ed25519.pub'), 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ');
  writeFileSync(otherKnownHosts, `198.18.73.12 ${otherKey}\n`);
  const changed = await t.throwsAsync(
    createHost(store, 'pb', createOptions(hostB, false), { knownHostsFile: otherKnownHosts, acceptNewHostKey: true, env }, silentProgress),
  );
  t.regex(changed!.message, /host key of 198\.18\.73\.12:22 changed: .*known_hosts\.changed:1 holds another key/);
  store.remove('pb');
});

test.serial('a failure mid-way leaves a resumable record; provision finishes the job; a taken name is found, not duplicated', async (t) => {
  let cut = false;
  const cutAfterRuntime: ProvisionProgress = {
    ...silentProgress,
    finished(title) {
      if (title.startsWith("dockvisor's Node.js") && !cut) {
        cut = true;
        void hostB.ssh.stop();
      }
    },
  };
  const error = await t.throwsAsync(
    createHost(
      store,
      'pb',
      createOptions(hostB, { hostName: 'fixture-host', clusterId: -1 }),
      { knownHostsFile: knownHosts, acceptNewHostKey: true, env },
      cutAfterRuntime,
      connectOpenNebula,
    ),
    { instanceOf: ProvisionError },
  );
  t.regex(error!.message, /^step "[a-z-]+" failed: .*198\.18\.73\.12:22.*; resume with: dockvisor host provision pb$/);
  const failedStep = (error as ProvisionError).step;
  t.true(['engine-access', 'sudoers', 'engine-config', 'engine-probe'].includes(failedStep), failedStep);
  const halfway = store.get('pb');
  t.true(halfway.steps.runtime?.done);
  t.false(halfway.steps[failedStep]?.done);
  t.is(halfway.steps.register, undefined);

  await hostB.ssh.restart();
  const duplicate = replay('host-allocate-duplicate');
  const info = replay('host-info', 2);
  const summary = await provisionHost(store, 'pb', { knownHostsFile: knownHosts, env }, silentProgress, connectOpenNebula);
  t.true(duplicate.isDone() && info.isDone());
  t.true(summary.changes >= 1);
  const done = store.get('pb');
  t.true(Object.values(done.steps).every((step) => step.done));
  t.is(done.oneHostId, 2, 'the host registered under that name already is the one recorded');
});

test.serial('env output drives the docker CLI over SSH to the host', async (t) => {
  const printed = await cli('host', 'env', 'pa', '--shell', 'bash');
  t.is(printed.code, 0, printed.stderr);
  t.regex(printed.stdout, /^export DOCKER_HOST="ssh:\/\/root@198\.18\.73\.11"$/m);
  t.regex((await cli('host', 'env', 'pa', '--shell', 'fish')).stdout, /^set -gx DOCKER_HOST "ssh:\/\/root@198\.18\.73\.11";$/m);
  t.regex((await cli('host', 'env', '--unset', '--shell', 'bash')).stdout, /^unset DOCKER_HOST$/m);
  // The docker CLI runs `ssh`; this one knows the operator's key and known_hosts, as ~/.ssh/config would.
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh\nexec /usr/bin/ssh -o IdentityFile=${key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes "$@"\n`,
    { mode: 0o755 },
  );
  const engine = hostA.engine.client();
  await engine.createContainer('dvt-prov-envcheck', { Image: BASE_IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  t.teardown(() => engine.removeContainer('dvt-prov-envcheck').then(() => engine.close()));
  const { stdout } = await run(
    'bash',
    ['-c', `eval "$(node ${join(repoRoot, 'bin/dockvisor.mjs')} host env pa --shell bash)" && docker ps -a --format '{{.Names}}'`],
    {
      env: { ...cliEnv, PATH: `${bin}:${process.env.PATH}` },
      timeout: 60_000,
    },
  );
  t.true(stdout.split('\n').includes('dvt-prov-envcheck'), stdout);
});

test.serial('ssh runs a command on the host and passes its exit code on', async (t) => {
  const echoed = await cli('host', 'ssh', 'pa', '--', 'echo', 'hello', '$((6*7))', '&&', 'ip', '-o', '-4', 'addr', 'show', 'eth0');
  t.is(echoed.code, 0, echoed.stderr);
  t.regex(echoed.stdout, /^hello 42\n.* inet 198\.18\.73\.11\/24 /);
  t.is((await cli('host', 'ssh', 'pa', '--', 'exit', '3')).code, 3);
});

test.serial('ls shows every host in parallel, and a host that is down within its timeout', async (t) => {
  const bundle = exportHost(store.get('pb'), false);
  const down = { ...bundle, host: { ...bundle.host, name: 'down', ssh: { ...bundle.host.ssh, address: '198.18.73.99' }, opennebula: null } };
  delete (down.host as { oneHostId?: number }).oneHostId;
  importHost(store, JSON.stringify(down), { identityFile: key });
  t.teardown(() => store.remove('down'));
  const listed = await cli('host', 'ls', '--json', '--timeout', '3000');
  t.is(listed.code, 0, listed.stderr);
  t.true(listed.ms < 12_000, `took ${listed.ms} ms`);
  const statuses = JSON.parse(listed.stdout) as Array<{ name: string; state: string; engineVersion?: string; opennebula?: unknown }>;
  t.deepEqual(
    statuses.map((status) => [status.name, status.state]),
    [
      ['down', 'Timeout'],
      ['pa', 'Running'],
      ['pb', 'Running'],
    ],
  );
  t.deepEqual(
    statuses.map((status) => status.opennebula),
    [null, { id: 2, state: 'GONE' }, { id: 2, state: 'GONE' }],
    'the recorded pool (hosts 0 and 1) no longer has host 2',
  );
  t.regex(statuses[1]!.engineVersion!, /^\d+\.\d+/);
  const table = await cli('host', 'ls', '--timeout', '3000');
  t.regex(table.stdout, /^NAME\s+SSH\s+STATE/);
  t.regex(table.stdout, /^pa\s+root@198\.18\.73\.11\s+Running/m);
  const status = await cli('host', 'status', 'down', '--timeout', '2000');
  t.is(status.code, 1);
  t.regex(status.stdout, /^Timeout/);
});

test.serial('export and import hand a host to another operator; upgrade refuses while VMs run; rm unregisters', async (t) => {
  const exported = await cli('host', 'export', 'pb');
  t.false(exported.stdout.includes('PRIVATE KEY'), 'no key unless asked');
  const withKey = await cli('host', 'export', 'pb', '--with-key');
  t.true(withKey.stdout.includes('PRIVATE KEY'));
  const otherStore = new HostStore(join(work, 'other', 'dockvisor', 'hosts'));
  const imported = importHost(otherStore, withKey.stdout, { name: 'pb-shared' });
  t.true(existsSync(imported.ssh.identityFile!));
  t.is(Number(execFileSync('stat', ['-c', '%a', imported.ssh.identityFile!], { encoding: 'utf8' }).trim()), 600);
  t.throws(() => importHost(store, withKey.stdout, {}), { message: /host pb exists already here/ });

  const engine = hostB.engine.client();
  await engine.createContainer('one-98001', {
    Image: BASE_IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { [LABEL_OWNER]: OWNER_VALUE },
    HostConfig: { NetworkMode: 'none' },
  });
  await engine.startContainer('one-98001');
  t.teardown(() => engine.removeContainer('one-98001').then(() => engine.close()));
  await t.throwsAsync(upgradeHost(otherStore, 'pb-shared', { force: false, say: () => undefined }), {
    message: /1 dockvisor VM\(s\) run on pb-shared: .* --force to go ahead/,
  });
  await t.throwsAsync(removeHost(otherStore, 'pb-shared', { purge: true, force: false, cloud: connectOpenNebula, say: () => undefined }), {
    message: /1 dockvisor VM\(s\) exist on pb-shared \(one-98001\)/,
  });

  const deleted = replay('host-delete');
  const lines: string[] = [];
  await removeHost(store, 'pb', { purge: false, force: false, env, cloud: connectOpenNebula, say: (line) => lines.push(line) });
  t.true(deleted.isDone());
  t.is(store.find('pb'), undefined);
  t.true((await engine.inspectContainer('one-98001')).State.Running, 'the engine and its VMs are untouched');
  t.deepEqual(lines, ['pb: OpenNebula host 2 removed', 'pb: removed from the host store (its engine and containers are untouched)']);
});

test.serial('hostile input is refused with one line and nothing recorded', async (t) => {
  const attempts: string[][] = [
    ['host', 'create', 'bad;name', '--ssh', 'root@198.18.73.11'],
    ['host', 'create', '../escape', '--ssh', 'root@198.18.73.11'],
    ['host', 'create', 'x1', '--ssh', 'root@198.18.73.11;reboot'],
    ['host', 'create', 'x2', '--ssh', 'root$(id)@198.18.73.11'],
    ['host', 'create', 'x3', '--ssh', 'root@198.18.73.11:99999'],
    ['host', 'create', 'x4', '--ssh', 'root@198.18.73.11', '--one-user', 'a;b'],
    ['host', 'create', 'x5', '--ssh', 'root@198.18.73.11', '--engine-socket', '/run/x.sock;reboot'],
    ['host', 'create', 'x6', '--ssh', 'root@198.18.73.11', '--probe-image', 'busybox`id`'],
    ['host', 'create', 'x7', '--ssh', 'root@198.18.73.11', '--remotes-dir', '/var/tmp/$(id)'],
    ['host', 'inspect', 'nobody'],
    ['host', 'frobnicate'],
  ];
  const before = store.list().map((record) => record.name);
  for (const args of attempts) {
    const result = await cli(...args);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, /^dockvisor: [^\n]+\n$/, `${args.join(' ')}: ${result.stderr}`);
  }
  t.deepEqual(
    store.list().map((record) => record.name),
    before,
  );
  const bundleFile = join(work, 'hostile.json');
  const hostile = [
    '{"format":"dockvisor-host/1","host":{"name":"h","ssh":{"user":"root","address":"1.2.3.4;reboot","port":22,"hostKey":"ssh-ed25519 AAAA"},"steps":{}}}',
    '{"format":"dockvisor-host/1","host":{"name":"h","ssh":{"user":"root","address":"198.18.73.11","port":22,"hostKey":"ssh-ed25519 AAAA"},"steps":{},"oneUser":"x$(id)"}}',
    '{"format":"dockvisor-host/1","host":{"name":"../h","ssh":{"user":"root","address":"198.18.73.11","port":22,"hostKey":"ssh-ed25519 AAAA"},"steps":{}}}',
    '{"format":"other"}',
    'not json',
  ];
  for (const text of hostile) {
    writeFileSync(bundleFile, text);
    const result = await cli('host', 'import', bundleFile);
    t.is(result.code, 1, text);
    t.regex(result.stderr, /^dockvisor: [^\n]+\n$/);
  }
  t.deepEqual(
    store.list().map((record) => record.name),
    before,
  );
});
