import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { createHost } from '../drivers/machine/provisioner.ts';
import { silentProgress } from '../drivers/machine/provision/progress.ts';
import { importHost, exportHost } from '../drivers/machine/host-transfer.ts';
import { BASE_IMAGE, repoRoot, stateDir } from '../test/helpers/paths.ts';
import { TestHost } from '../test/helpers/test-host.ts';
import { recordedRequest, recordedResponse } from '../test/helpers/oned-mock.ts';
import { TemplateOned } from '../test/helpers/template-oned.ts';
import { childEnv, describeFailure, runTimed } from './child-process.ts';
import { createBridge, removeBridge } from './links.ts';
import { round, summarize, type Summary } from './stats.ts';

// Not dvb-h...: the cleanup of every bench run takes links named so for a raw baseline's veths.
export const HOSTS_BRIDGE = 'dvb-nodes0';
const BRIDGE_ADDRESS = '198.18.76.1/24';
const LS_HOSTS = 10;

export interface HostsResult {
  provision: { summary: Summary; baseline: Summary; ratio: number; changes: number[] };
  ls: { hosts: number; summary: Summary; baseline: Summary; ratio: number };
  template: { summary: Summary; baseline: Summary; ratio: number };
}

interface HostsContext {
  runs: number;
  timeoutMs: number;
  abort: AbortSignal;
}

/**
 * `dockvisor host provision` of a provisioned host against one raw `ssh host docker version`, and
 * `dockvisor host ls` over 10 hosts against 10 such ssh runs in parallel. The hosts are network namespaces
 * on a bench bridge, each with its own sshd; the first has its own engine, the others reach the machine's.
 */
export async function runHostsBench(context: HostsContext, log: (line: string) => void): Promise<HostsResult> {
  const work = join(stateDir, 'bench-hosts');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const hosts = Array.from(
    { length: LS_HOSTS },
    (_, i) => new TestHost(`dvb-h${i}`, `198.18.76.${10 + i}`, HOSTS_BRIDGE, i === 0 ? '198.18.77.1/24' : undefined),
  );
  await createBridge(HOSTS_BRIDGE, BRIDGE_ADDRESS);
  try {
    for (const host of hosts) await host.start();
    const key = join(work, 'id_ed25519');
    writeFileSync(key, hosts[0]!.ssh.privateKey, { mode: 0o600 });
    const publicKey = execFileSync('ssh-keygen', ['-y', '-f', key]);
    for (const host of hosts.slice(1)) writeFileSync(join(stateDir, `sshd-${host.name}`, 'authorized_keys'), publicKey, { mode: 0o600 });
    const knownHosts = join(work, 'known_hosts');
    const config = join(work, 'config');
    const store = new HostStore(join(config, 'dockvisor', 'hosts'));
    log(`provisioning ${hosts[0]!.name} once`);
    await createHost(
      store,
      'h0',
      { ssh: `root@${hosts[0]!.address}`, identityFile: key, engineSocket: hosts[0]!.engineSocket, oneUser: 'dvbone', probeImage: BASE_IMAGE, register: false },
      { knownHostsFile: knownHosts, acceptNewHostKey: true },
      silentProgress,
    );
    // The other hosts are recorded as provisioned (what `ls` reads); only their address differs.
    const template = exportHost(store.get('h0'), false);
    hosts.slice(1).forEach((host, i) => {
      const hostKey = execFileSync('cat', [join(stateDir, `sshd-${host.name}`, 'host_ed25519.pub')], { encoding: 'utf8' })
        .split(' ')
        .slice(0, 2)
        .join(' ');
      const bundle = {
        ...template,
        host: { ...template.host, name: `h${i + 1}`, engineSocket: host.engineSocket, ssh: { ...template.host.ssh, address: host.address, hostKey } },
      };
      importHost(store, JSON.stringify(bundle), { identityFile: key });
      execFileSync('sh', ['-c', `echo "${host.address} ${hostKey}" >> ${knownHosts}`]);
    });
    const env = childEnv({ XDG_CONFIG_HOME: config });
    const cli = join(repoRoot, 'bin/dockvisor.mjs');
    const ssh = (host: TestHost) => [
      '-o',
      `IdentityFile=${key}`,
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'BatchMode=yes',
      `root@${host.address}`,
      'docker',
      'version',
      '--format',
      '{{.Server.Version}}',
    ];
    const timed = async (file: string, args: string[], what: string, runEnv = env) => {
      const run = await runTimed(file, args, { env: runEnv, timeoutMs: context.timeoutMs, abort: context.abort });
      if (run.code !== 0) throw new Error(describeFailure(what, run));
      return run;
    };

    log(`provision of a provisioned host vs ssh + docker version: 1 warm-up + ${context.runs} pairs`);
    const provision: number[] = [];
    const provisionBaseline: number[] = [];
    const changes: number[] = [];
    for (let i = 0; i <= context.runs; i++) {
      const run = await timed(process.execPath, [cli, 'host', 'provision', 'h0'], 'dockvisor host provision');
      const base = await timed('ssh', ssh(hosts[0]!), 'ssh docker version');
      if (i === 0) continue;
      provision.push(run.ms);
      provisionBaseline.push(base.ms);
      changes.push(Number(/, (\d+) changes?/.exec(run.stdout)?.[1] ?? NaN));
    }

    log(`ls over ${LS_HOSTS} hosts vs ${LS_HOSTS} parallel ssh + docker version: 1 warm-up + ${context.runs} pairs`);
    const ls: number[] = [];
    const lsBaseline: number[] = [];
    for (let i = 0; i <= context.runs; i++) {
      const run = await timed(process.execPath, [cli, 'host', 'ls', '--json'], 'dockvisor host ls');
      const states = (JSON.parse(run.stdout) as Array<{ state: string }>).map((status) => status.state);
      if (states.length !== LS_HOSTS || states.some((state) => state !== 'Running')) throw new Error(`dockvisor host ls: ${states.join(', ')}`);
      const started = performance.now();
      await Promise.all(hosts.map((host) => timed('ssh', ssh(host), 'ssh docker version')));
      const baseMs = performance.now() - started;
      if (i === 0) continue;
      ls.push(run.ms);
      lsBaseline.push(baseMs);
    }
    const fromTemplate = await benchTemplateCreate(context, log, { host: hosts[0]!, key, knownHosts, config, cli, timed });

    const p = summarize(provision);
    const pb = summarize(provisionBaseline);
    const l = summarize(ls);
    const lb = summarize(lsBaseline);
    return {
      provision: { summary: p, baseline: pb, ratio: round(p.median / pb.median), changes },
      ls: { hosts: LS_HOSTS, summary: l, baseline: lb, ratio: round(l.median / lb.median) },
      template: fromTemplate,
    };
  } finally {
    await Promise.allSettled(hosts.map((host) => host.stop()));
    await removeBridge(HOSTS_BRIDGE);
    execFileSync('sh', ['-c', 'userdel -r dvbone 2>/dev/null; rm -f /etc/sudoers.d/dockvisor-dvbone; true']);
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatHosts(result: HostsResult): string {
  const line = (name: string, s: Summary) =>
    `${name.padEnd(44)} ${String(s.n).padStart(3)} ${s.median.toFixed(0).padStart(8)} ${s.min.toFixed(0).padStart(8)} ${s.max.toFixed(0).padStart(8)}`;
  return [
    `${'hosts'.padEnd(44)}   n  median ms   min ms   max ms`,
    line('dockvisor host provision (provisioned host)', result.provision.summary),
    line('ssh host docker version', result.provision.baseline),
    line(`dockvisor host ls (${result.ls.hosts} hosts)`, result.ls.summary),
    line(`${result.ls.hosts} x ssh host docker version, in parallel`, result.ls.baseline),
    `provision / baseline: ${result.provision.ratio}; changes made by each provision: ${result.provision.changes.join(', ')}`,
    `ls / baseline: ${result.ls.ratio}`,
    line('dockvisor host create --opennebula-template', result.template.summary),
    line('instantiate, poll, ssh, host create --ssh', result.template.baseline),
    `create from a template / raw sequence: ${result.template.ratio}`,
  ].join('\n');
}

interface TemplateBenchSetup {
  host: TestHost;
  key: string;
  knownHosts: string;
  config: string;
  cli: string;
  timed: (file: string, args: string[], what: string, env?: NodeJS.ProcessEnv) => Promise<{ ms: number; stdout: string }>;
}

const POLL_MS = 1000; // as the CLI polls the VM's state

/**
 * `dockvisor host create --opennebula-template` against the raw sequence a script would run for the same host:
 * `one.template.instantiate`, `one.vm.info` every second until RUNNING, one `ssh host true`, then today's
 * `dockvisor host create --ssh` (the same provisioning and registration). oned is the recorded exchanges of
 * OpenNebula 7.4 on a loopback port, the VM's address rewritten to the bench host's; both sides provision the
 * same, already provisioned host. The VM and the host are removed after each run, outside the timing.
 */
async function benchTemplateCreate(context: HostsContext, log: (line: string) => void, setup: TemplateBenchSetup): Promise<HostsResult['template']> {
  const { host, key, knownHosts, config, cli, timed } = setup;
  const authorizedKeys = join(stateDir, `sshd-${host.name}`, 'authorized_keys');
  const oned = new TemplateOned((publicKey) => appendFileSync(authorizedKeys, `${publicKey}\n`));
  const atBenchHost = () => recordedResponse('vm-info-running-at-test-host').replaceAll('198.18.210.', `${host.address.split('.').slice(0, 3).join('.')}.`);
  const reset = () => {
    oned.reset();
    oned.runningAnswer = atBenchHost;
  };
  const url = await oned.listen();
  const oneAuth = join(config, 'one_auth');
  writeFileSync(oneAuth, 'oneadmin:SECRET\n', { mode: 0o600 });
  const env = childEnv({ XDG_CONFIG_HOME: config, ONE_XMLRPC: url, ONE_AUTH: oneAuth });
  const settings = [
    '--engine-socket',
    host.engineSocket,
    '--one-user',
    'dvbone',
    '--probe-image',
    BASE_IMAGE,
    '--one-name',
    'fixture-host',
    '--known-hosts',
    knownHosts,
  ];
  const publicKey = execFileSync('ssh-keygen', ['-y', '-f', key], { encoding: 'utf8' }).trim();
  const call = async (body: string) => (await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'text/xml' }, signal: context.abort })).text();
  try {
    log(`create from a template vs instantiate + poll + ssh + host create --ssh: 1 warm-up + ${context.runs} pairs`);
    const made: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i <= context.runs; i++) {
      reset();
      const run = await timed(
        process.execPath,
        [cli, 'host', 'create', 'dvhost1', '--opennebula-template', 'docker-host', '--cpu', '0.5', '--vcpu', '1', '--memory', '96', ...settings],
        'dockvisor host create --opennebula-template',
        env,
      );
      if (oned.count('one.template.instantiate') !== 1 || oned.unexpected.length)
        throw new Error(`host create --opennebula-template: ${oned.unexpected.join('; ')}`);
      await timed(process.execPath, [cli, 'host', 'rm', 'dvhost1', '--force'], 'dockvisor host rm', env);

      reset();
      const started = performance.now();
      const instantiate = recordedRequest('template-instantiate').replace(
        /ssh-ed25519 [A-Za-z0-9+/=]+ dockvisor-host-dvhost1/,
        `${publicKey.split(' ').slice(0, 2).join(' ')} dockvisor-host-dvhost1`,
      );
      if (!/<i4>518<\/i4>/.test(await call(instantiate))) throw new Error('raw one.template.instantiate failed');
      for (;;) {
        if (/&lt;STATE&gt;3&lt;\/STATE&gt;&lt;LCM_STATE&gt;3&lt;/.test(await call(recordedRequest('vm-info-running')))) break;
        if (performance.now() - started > context.timeoutMs) throw new Error('raw sequence: the VM never ran');
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      await timed(
        'ssh',
        ['-o', `IdentityFile=${key}`, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', `root@${host.address}`, 'true'],
        'ssh true',
        env,
      );
      await timed(
        process.execPath,
        [cli, 'host', 'create', 'raw', '--ssh', `root@${host.address}`, '--identity', key, ...settings],
        'dockvisor host create --ssh',
        env,
      );
      const rawMs = performance.now() - started;
      await timed(process.execPath, [cli, 'host', 'rm', 'raw'], 'dockvisor host rm', env);
      if (i === 0) continue;
      made.push(run.ms);
      raw.push(rawMs);
    }
    const m = summarize(made);
    const r = summarize(raw);
    return { summary: m, baseline: r, ratio: round(m.median / r.median) };
  } finally {
    oned.close();
  }
}
