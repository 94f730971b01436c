import test from 'ava';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostKey, presentedHostKey, recordHostKey } from '../drivers/ssh/known-hosts.ts';
import { parseLegacyRelease, parseOsRelease, supportedOs } from '../drivers/machine/host-os.ts';
import { enginePurgePlan, engineStartPlan, engineUpgradePlan, installPlan, packagesFor } from '../drivers/machine/package-plans.ts';
import { shellEnv } from '../drivers/machine/shell-env.ts';
import { parseSshTarget } from '../drivers/hosts/ssh-target.ts';
import { shellQuote } from '../drivers/hosts/shell-quote.ts';
import type { HostRecord } from '../drivers/hosts/host-store.ts';
import { ScriptedHost } from './helpers/scripted-host.ts';

/** A fresh ed25519 public key in SSH wire format: string "ssh-ed25519", string key. */
function hostKey() {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const field = (data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  return presentedHostKey(Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]));
}

test('known_hosts: plain, [host]:port, hashed and wildcard entries; changed and revoked keys', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dvkh-'));
  const file = join(dir, 'known_hosts');
  const mine = hostKey();
  const other = hostKey();
  const b64 = mine.blob.toString('base64');
  t.is(checkHostKey(file, '10.0.0.1', 22, mine).kind, 'unknown', 'no file');
  recordHostKey(file, '10.0.0.1', 2222, mine);
  t.is(readFileSync(file, 'utf8'), `[10.0.0.1]:2222 ssh-ed25519 ${b64}\n`);
  t.is(checkHostKey(file, '10.0.0.1', 2222, mine).kind, 'known');
  t.is(checkHostKey(file, '10.0.0.1', 22, mine).kind, 'unknown', 'another port is another host');
  t.deepEqual(checkHostKey(file, '10.0.0.1', 2222, other), { kind: 'changed', line: 1 });

  const salt = Buffer.from('0123456789abcdef0123');
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('host.example').digest('base64')}`;
  writeFileSync(
    file,
    `# comment\n\n${hashed} ssh-ed25519 ${b64}\n*.lab,!bad.lab ssh-ed25519 ${b64}\n@cert-authority * ssh-ed25519 ${other.blob.toString('base64')}\n`,
  );
  t.is(checkHostKey(file, 'host.example', 22, mine).kind, 'known');
  t.is(checkHostKey(file, 'a.lab', 22, mine).kind, 'known');
  t.is(checkHostKey(file, 'bad.lab', 22, mine).kind, 'unknown', 'negated pattern');
  t.is(checkHostKey(file, 'a.lab', 22, other).kind, 'changed');
  writeFileSync(file, `@revoked * ssh-ed25519 ${b64}\nh ssh-ed25519 ${b64}\n`);
  t.deepEqual(checkHostKey(file, 'h', 22, mine), { kind: 'revoked', line: 1 });
  t.throws(() => presentedHostKey(Buffer.from([0, 0, 0, 200, 1])), { message: /malformed host key/ });
});

test('os-release is read with quotes and escapes; only Debian, Ubuntu and Fedora releases that carry a suitable engine are supported', (t) => {
  const debian = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n')!;
  t.deepEqual(debian, { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  t.like(supportedOs(debian), { family: 'apt' });
  t.like(supportedOs(parseOsRelease('ID=ubuntu\nVERSION_ID="24.04"\nID_LIKE=debian')!), { family: 'apt' });
  t.like(supportedOs(parseOsRelease('ID=fedora\nVERSION_ID=40')!), { family: 'dnf' });
  t.regex(
    (supportedOs(parseOsRelease('ID=debian\nVERSION_ID="10"\nPRETTY_NAME="Debian 10"')!) as { unsupported: string }).unsupported,
    /^Debian 10 is not supported: dockvisor provisions Debian >= 11/,
  );
  t.regex(
    (supportedOs(parseOsRelease('ID=raspbian\nID_LIKE=debian\nVERSION_ID=12\nPRETTY_NAME="Raspbian 12"')!) as { unsupported: string }).unsupported,
    /derives from Debian/,
  );
  t.regex(
    (supportedOs(parseOsRelease('ID=alpine\nVERSION_ID=3.20.0\nPRETTY_NAME="Alpine Linux v3.20"')!) as { unsupported: string }).unsupported,
    /^Alpine Linux v3\.20 is not supported/,
  );
  t.is(parseOsRelease('garbage'), undefined);
  t.like(parseLegacyRelease('/etc/debian_version', '11.9\n'), { id: 'debian', versionId: '11' });
  t.like(parseLegacyRelease('/etc/redhat-release', 'CentOS release 6.10 (Final)\n'), { id: 'centos', versionId: '6' });
});

test('the install plans use the distribution packages and never restart a running engine', (t) => {
  t.deepEqual(installPlan('apt', packagesFor('apt', ['engine'])), [
    'apt-get -o DPkg::Lock::Timeout=300 update -q',
    'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends docker.io',
  ]);
  t.deepEqual(installPlan('dnf', packagesFor('dnf', ['engine', 'ip', 'sudo'])), ['dnf install -y -q moby-engine iproute sudo']);
  t.deepEqual(packagesFor('apt', ['sudo', 'sudo', 'nsenter']), ['sudo', 'util-linux']);
  t.deepEqual(installPlan('apt', []), []);
  t.deepEqual(engineStartPlan(true), ['systemctl enable --now docker.service']);
  t.deepEqual(engineStartPlan(false), ['service docker start']);
  t.false([...engineStartPlan(true), ...engineStartPlan(false)].some((command) => /restart|reload/.test(command)));
  t.regex(engineUpgradePlan('apt').at(-1)!, /--only-upgrade docker\.io$/);
  t.deepEqual(enginePurgePlan('dnf'), ['dnf remove -y -q moby-engine']);
});

test('SSH targets are parsed strictly; shell words are quoted whatever they hold', (t) => {
  t.deepEqual(parseSshTarget('admin@host.example:2222'), { user: 'admin', address: 'host.example', port: 2222 });
  t.deepEqual(parseSshTarget('10.1.2.3'), { user: 'root', address: '10.1.2.3', port: 22 });
  t.deepEqual(parseSshTarget('u@[fd00::1]:22'), { user: 'u', address: 'fd00::1', port: 22 });
  for (const bad of ['u@h;reboot', 'u@-oProxyCommand=x', '$(id)@h', 'u@h:0', 'u@h:65536', 'u@[fd00::1', 'u@h h', '']) {
    t.throws(() => parseSshTarget(bad), { message: /is not user@address\[:port\]/ }, bad);
  }
  t.is(shellQuote('plain-word_1.2/x'), 'plain-word_1.2/x');
  t.is(shellQuote("it's $(x) `y`"), `'it'\\''s $(x) \`y\`'`);
});

test('env prints each shell its own syntax and refuses values a shell would interpret', (t) => {
  const record = { name: 'h1', ssh: { user: 'root', address: '10.0.0.5', port: 2222 }, steps: {}, createdAt: '', updatedAt: '' } as HostRecord;
  t.regex(
    shellEnv(record, 'bash', false),
    /^export DOCKER_HOST="ssh:\/\/root@10\.0\.0\.5:2222"\nexport DOCKVISOR_HOST="h1"\n# Run this command to configure your shell:\n# eval "\$\(dockvisor host env h1\)"\n$/,
  );
  t.regex(shellEnv(record, 'powershell', false), /^\$Env:DOCKER_HOST = "ssh:\/\/root@10\.0\.0\.5:2222"$/m);
  t.regex(shellEnv(record, 'cmd', false), /^SET DOCKER_HOST=ssh:\/\/root@10\.0\.0\.5:2222$/m);
  t.regex(shellEnv(undefined, 'fish', true), /^set -e DOCKER_HOST;$/m);
  t.throws(() => shellEnv({ ...record, name: 'x"$(id)' }, 'bash', false), { message: /characters a shell would interpret/ });
});

test('the engine step on a Debian host without an engine installs docker.io and starts it, and nothing else', async (t) => {
  const { ProvisionContext } = await import('../drivers/machine/provision/context.ts');
  const { engineStep } = await import('../drivers/machine/provision/engine-step.ts');
  let installed = false;
  let started = false;
  const host = new ScriptedHost((command) => {
    if (command.includes('echo @@kernel')) {
      const facts = ['@@kernel', 'Linux x86_64', '@@paths', 'ip /usr/sbin/ip', ...(installed ? ['dockerd /usr/sbin/dockerd'] : []), '@@systemd'];
      if (started) facts.push('@@listener 77', '/usr/sbin/dockerd', '-H', 'fd://', '@@socket-group', 'docker');
      return { code: 0, stdout: `${facts.join('\n')}\n` };
    }
    if (command.startsWith('apt-get') || command.startsWith('DEBIAN_FRONTEND')) {
      installed ||= command.includes('install');
      return { code: 0, stdout: '' };
    }
    if (command.startsWith('systemctl')) {
      started = true;
      return { code: 0, stdout: '' };
    }
    return { code: 1, stdout: '' };
  });
  const context = new ProvisionContext({ name: 'h', ssh: host.target, steps: {}, createdAt: '', updatedAt: '' }, host as never);
  context.os = { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian 12', family: 'apt' };
  t.deepEqual(await engineStep.check(context), { ok: false, detail: 'dockerd is not installed' });
  await engineStep.apply!(context);
  context.forgetFacts();
  t.like(await engineStep.check(context), { ok: true });
  const changes = host.commands.filter((command) => /apt-get|systemctl|service /.test(command));
  t.deepEqual(changes, [
    'apt-get -o DPkg::Lock::Timeout=300 update -q',
    'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends docker.io',
    'systemctl enable --now docker.service',
  ]);

  // An engine that is installed and running is only looked at.
  host.commands.length = 0;
  context.forgetFacts();
  t.like(await engineStep.check(context), { ok: true, detail: '/usr/sbin/dockerd (pid 77) listens on /var/run/docker.sock' });
  t.false(host.commands.some((command) => /apt-get|systemctl|service |\bkill\s+-/.test(command)));
});

test('the facts script is read back section by section, whatever the order and with files that lack a final newline', async (t) => {
  const { parseFacts, factsScript } = await import('../drivers/machine/provision/host-survey.ts');
  const rule = Buffer.from('one ALL=(root) NOPASSWD: /usr/sbin/ip\n').toString('base64');
  const facts = parseFacts(
    [
      '@@kernel',
      'Linux aarch64',
      '@@release /etc/os-release',
      'ID=debian',
      'VERSION_ID="12"',
      '',
      '@@paths',
      'node /usr/bin/node',
      'ovs-vsctl /usr/bin/ovs-vsctl',
      '@@listener 42',
      '/usr/bin/dockerd',
      '--config-file=/etc/x.json',
      '@@socket-group',
      'docker',
      '@@groups oneadmin',
      'oneadmin docker',
      '@@sudoers',
      rule,
      '@@runtime',
      '7d32bda5',
      '',
    ].join('\n'),
  );
  t.is(facts.kernel, 'Linux aarch64');
  t.regex(facts.releases.get('/etc/os-release')!, /^ID=debian\nVERSION_ID="12"/);
  t.is(facts.paths.get('ovs-vsctl'), '/usr/bin/ovs-vsctl');
  t.deepEqual(facts.listener, { pid: 42, args: ['/usr/bin/dockerd', '--config-file=/etc/x.json'] });
  t.deepEqual(facts.userGroups.get('oneadmin'), ['oneadmin', 'docker']);
  t.is(facts.sudoers, 'one ALL=(root) NOPASSWD: /usr/sbin/ip\n');
  t.is(facts.runtimeSha256, '7d32bda5');
  t.false(facts.systemd);
  const script = factsScript("/run/it's.sock", ['one'], '/etc/sudoers.d/dockvisor-one', '/usr/lib/dockvisor/node');
  t.true(script.includes(`'/run/it'\\''s.sock'`), 'the socket path is quoted');
});

test('provisioning and removal refuse a state they cannot act on with a host-setup error, a bad key file as bad input', async (t) => {
  const { ProvisionContext } = await import('../drivers/machine/provision/context.ts');
  const { engineStep } = await import('../drivers/machine/provision/engine-step.ts');
  const { registerStep } = await import('../drivers/machine/provision/register-step.ts');
  const { hostKeyPair } = await import('../drivers/machine/host-key-pair.ts');
  const { removeHost } = await import('../drivers/machine/host-removal.ts');
  const { HostStore } = await import('../drivers/hosts/host-store.ts');
  const { EXIT_CODES, errorKind, exitCodeOf } = await import('../drivers/core/errors.ts');
  const host = new ScriptedHost(() => ({ code: 1, stdout: '' }));
  const record: HostRecord = { name: 'h', ssh: host.target, steps: {}, createdAt: '', updatedAt: '' };

  const noOs = await t.throwsAsync(engineStep.apply!(new ProvisionContext(record, host as never)), { name: 'HostSetupError' });
  t.is(noOs!.message, 'the operating system step has not run');
  t.is(errorKind(noOs), 'host-setup');
  t.is(exitCodeOf(noOs), EXIT_CODES['host-setup']);

  const registered: HostRecord = { ...record, opennebula: { hostName: 'h', clusterId: 0 }, oneHostId: 4 };
  const noCloud = await t.throwsAsync(registerStep.check(new ProvisionContext(registered, host as never)), { name: 'HostSetupError' });
  t.is(noCloud!.message, 'h is to be registered with OpenNebula, but provisioning was handed no cloud to register with');

  const dir = mkdtempSync(join(tmpdir(), 'dvhu-'));
  const store = new HostStore(join(dir, 'hosts'));
  store.save({ ...record, vm: { template: { id: 3, name: 'dockvisor-host' }, startTimeoutMs: 1000 } });
  const noVms = await t.throwsAsync(removeHost(store, 'h', { purge: false, force: false, cloud: () => undefined as never, say: () => undefined }), {
    name: 'HostSetupError',
  });
  t.is(noVms!.message, 'h was made from a VM template, but removal was handed no cloud to terminate its VM in');
  t.truthy(store.find('h'), 'nothing was removed');

  const keyFile = join(dir, 'not-a-key');
  writeFileSync(keyFile, 'not a key\n');
  const badKey = t.throws(() => hostKeyPair(keyFile, 'dockvisor-host-h'), { name: 'InvalidInputError' });
  t.regex(badKey!.message, new RegExp(`^${keyFile} is not a usable private key \\(.+\\)$`));
  t.is(errorKind(badKey), 'invalid');
});

test('the action agent unit runs our node and the remotes agent as the driver user, restarted without limit, with sudo usable', async (t) => {
  const { agentUnit } = await import('../drivers/machine/provision/agent-unit.ts');
  const text = agentUnit({ user: 'oneadmin', node: '/usr/lib/dockvisor/node/bin/node', script: '/var/tmp/one/lib/dockvisor/agent.mjs' });
  const lines = text.split('\n');
  t.true(lines.includes('User=oneadmin'));
  t.true(lines.includes('ExecStart="/usr/lib/dockvisor/node/bin/node" "/var/tmp/one/lib/dockvisor/agent.mjs"'));
  for (const line of ['Restart=always', 'RestartSec=5', 'UMask=0077', 'WantedBy=multi-user.target']) t.true(lines.includes(line), line);
  t.true(lines.indexOf('StartLimitIntervalSec=0') > lines.indexOf('[Unit]') && lines.indexOf('StartLimitIntervalSec=0') < lines.indexOf('[Service]'));
  t.false(
    lines.some((line) => line.startsWith('NoNewPrivileges')),
    'the actions call sudo',
  );
  t.regex(agentUnit({ user: 'one', node: '/opt/n o/node', script: '/srv/100%/a"b.mjs' }), /^ExecStart="\/opt\/n o\/node" "\/srv\/100%%\/a\\"b\.mjs"$/m);
});

/** A host for the agent step: its survey answers from `state`, its agent socket with `answer` (hex of the frame). */
function agentHost(state: { systemd: boolean; remotes: boolean; unit?: string; enabled?: boolean; socketUid?: number; answer?: string }) {
  return new ScriptedHost((command) => {
    if (command.includes('echo @@kernel')) return { code: 0, stdout: `@@kernel\nLinux x86_64\n${state.systemd ? '@@systemd\n' : ''}` };
    if (command.includes('getent passwd oneadmin') && command.includes('@@user')) {
      const out = ['@@user', '9869:9869:/var/lib/one'];
      if (state.socketUid !== undefined) out.push('@@socket', '9869 700 directory', `${state.socketUid} socket`);
      if (state.remotes) out.push('@@remotes', '/var/tmp/one/lib/dockvisor', '1.2.3+abcd');
      if (state.unit !== undefined) out.push('@@unit', Buffer.from(state.unit).toString('base64'));
      if (state.enabled) out.push('@@enabled');
      return { code: 0, stdout: `${out.join('\n')}\n` };
    }
    if (command.includes("as_user sh -c '/usr/bin/python3")) return state.answer === undefined ? { code: 1, stdout: '' } : { code: 0, stdout: state.answer };
    return { code: 0, stdout: '' };
  });
}

test('the agent step under systemd writes the unit only when it changed, enables and restarts it; a right, enabled unit is left alone', async (t) => {
  const { ProvisionContext } = await import('../drivers/machine/provision/context.ts');
  const { agentStep, agentPlan } = await import('../drivers/machine/provision/agent-step.ts');
  const { agentUnit } = await import('../drivers/machine/provision/agent-unit.ts');
  const state: Parameters<typeof agentHost>[0] = { systemd: true, remotes: false };
  const host = agentHost(state);
  const context = new ProvisionContext({ name: 'h', ssh: host.target, steps: {}, createdAt: '', updatedAt: '' }, host as never);
  const wanted = agentUnit(agentPlan(context));
  t.deepEqual(await agentStep.check(context), { ok: false, detail: '/etc/systemd/system/dockvisor-agent.service is missing' });
  await agentStep.apply!(context);
  t.deepEqual(
    host.commands.filter((command) => /systemctl (daemon|enable|restart)|cat >/.test(command)),
    [
      'umask 022; cat > /etc/systemd/system/dockvisor-agent.service.dockvisor-new && mv -f /etc/systemd/system/dockvisor-agent.service.dockvisor-new /etc/systemd/system/dockvisor-agent.service',
      'systemctl daemon-reload && systemctl enable dockvisor-agent.service && systemctl restart dockvisor-agent.service',
    ],
  );
  Object.assign(state, { unit: wanted, enabled: true });
  t.deepEqual(await agentStep.check(context), {
    ok: true,
    detail:
      'dockvisor-agent.service enabled, as oneadmin; starts once the remotes are on the host (`onehost sync`); until then the launchers run node themselves',
  });
  Object.assign(state, { enabled: false, remotes: true });
  host.commands.length = 0;
  t.like(await agentStep.check(context), { ok: false, detail: 'dockvisor-agent.service is not enabled' });
  await agentStep.apply!(context);
  t.deepEqual(
    host.commands.filter((command) => command.startsWith('systemctl') || command.includes('cat >')),
    ['systemctl enable --now dockvisor-agent.service'],
  );
  Object.assign(state, { unit: wanted.replace('RestartSec=5', 'RestartSec=1'), enabled: true });
  t.like(await agentStep.check(context), { ok: false, detail: '/etc/systemd/system/dockvisor-agent.service differs' });
  t.false(
    host.commands.some((command) => command.includes('/usr/bin/python3 -I -S -c')),
    'under systemd the check reads the unit, it does not ask the socket',
  );
  Object.assign(state, { unit: "[Unit]\nDescription=an admin's own dockvisor-agent\n", enabled: true });
  t.deepEqual(await agentStep.check(context), {
    ok: true,
    detail: '/etc/systemd/system/dockvisor-agent.service was not written by dockvisor; left alone, the launchers run node themselves',
  });
  host.commands.length = 0;
  await agentStep.apply!(context);
  t.false(
    host.commands.some((command) => command.startsWith('systemctl') || command.includes('cat >')),
    'a unit provisioning did not write is neither replaced nor restarted',
  );
});

test('the agent step without systemd asks the socket as a launcher would, starts the agent detached as the user, and leaves what is not ours alone', async (t) => {
  const { ProvisionContext } = await import('../drivers/machine/provision/context.ts');
  const { agentStep } = await import('../drivers/machine/provision/agent-step.ts');
  const { frame, Frame, FrameReader, parseRequest } = await import('../drivers/core/agent-frames.ts');
  const state: Parameters<typeof agentHost>[0] = { systemd: false, remotes: false };
  const host = agentHost(state);
  const context = new ProvisionContext({ name: 'h', ssh: host.target, steps: {}, createdAt: '', updatedAt: '' }, host as never);
  t.deepEqual(await agentStep.check(context), {
    ok: true,
    detail: 'starts once the remotes are on the host (`onehost sync`); until then the launchers run node themselves',
  });
  state.remotes = true;
  t.deepEqual(await agentStep.check(context), { ok: false, detail: 'no agent answers on /var/lib/one/.dockvisor/vmm-agent.sock' });
  t.false(
    host.commands.some((command) => command.includes('/usr/bin/python3 -I -S -c')),
    'nothing at the socket: nothing asked',
  );

  state.socketUid = 9869;
  state.answer = frame(Frame.ANSWER, 'stale the agent runs remotes 1.2.2+0000, not 1.2.3+abcd').toString('hex');
  t.like(await agentStep.check(context), { ok: false, detail: 'the agent on /var/lib/one/.dockvisor/vmm-agent.sock runs other remotes than 1.2.3+abcd' });
  const asked = [...host.commands].reverse().find((command) => command.includes('/usr/bin/python3 -I -S -c'))!;
  t.true(asked.includes(' /var/lib/one/.dockvisor/vmm-agent.sock '));
  t.regex(asked, /setpriv --reuid="\$uid"/, 'asked as the user, never as root');
  const [request] = new FrameReader(65536).push(Buffer.from(/([0-9a-f]+)'?\s*$/.exec(asked)![1]!, 'hex'));
  t.is(request!.type, Frame.REQUEST);
  t.like(parseRequest(request!.payload), { version: '1.2.3+abcd', remotesDir: '/var/tmp/one/lib/dockvisor', bundle: '', argv: [] });

  // apply: the stale one steps down (stops answering), then ours starts and answers.
  host.commands.length = 0;
  state.answer = undefined;
  const applying = agentStep.apply!(context);
  await new Promise((resolve) => setTimeout(resolve, 300));
  state.answer = frame(Frame.ANSWER, 'run').toString('hex');
  await applying;
  const start = host.commands.find((command) => command.includes('setsid'))!;
  t.regex(start, /^user=oneadmin$/m);
  t.regex(start, /setpriv --reuid="\$uid" --regid="\$gid" --init-groups -- env -i HOME="\$home"/);
  t.regex(
    start,
    /as_user setsid -f sh -c '.*' \/usr\/lib\/dockvisor\/node\/bin\/node \/var\/tmp\/one\/lib\/dockvisor\/agent\.mjs "\$home\/\.dockvisor\/agent\.log"$/m,
  );
  t.deepEqual(await agentStep.check(context), { ok: true, detail: 'an agent of remotes 1.2.3+abcd answers on /var/lib/one/.dockvisor/vmm-agent.sock' });

  // A socket of another user is not ours: not asked, not replaced.
  host.commands.length = 0;
  state.socketUid = 0;
  const foreign = await agentStep.check(context);
  t.true(foreign.ok);
  t.regex(foreign.detail, /^\/var\/lib\/one\/\.dockvisor\/vmm-agent\.sock: it or its directory belongs to another user than uid 9869; left alone/);
  t.false(host.commands.some((command) => command.startsWith('/usr/bin/python3') || command.includes('setsid')));
});

test('purge stops the unit and signals only a process whose owner and command line are exactly the agent', async (t) => {
  const { agentStopScript } = await import('../drivers/machine/provision/agent-removal.ts');
  const { spawn, spawnSync } = await import('node:child_process');
  const { userInfo } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'dvag-'));
  const script = join(dir, "it's agent.mjs");
  writeFileSync(script, 'setInterval(() => undefined, 1000);\n');
  writeFileSync(join(dir, 'decoy.mjs'), 'setInterval(() => undefined, 1000);\n');
  const unitFile = join(dir, 'dockvisor-agent.service');
  const { AGENT_UNIT_HEADER } = await import('../drivers/machine/provision/agent-unit.ts');
  writeFileSync(unitFile, '[Unit]\n');
  const foreign = spawnSync('sh', ['-c', agentStopScript({ user: userInfo().username, node: process.execPath, script: '/nonexistent' }, unitFile)], {
    encoding: 'utf8',
  });
  t.is(foreign.stdout, '', 'a unit provisioning did not write is left alone');
  t.true(existsSync(unitFile));
  writeFileSync(unitFile, `${AGENT_UNIT_HEADER}\n[Unit]\n`);
  const agent = spawn(process.execPath, [script], { stdio: 'ignore' });
  const decoy = spawn(process.execPath, [join(dir, 'decoy.mjs')], { stdio: 'ignore' });
  const withArgument = spawn(process.execPath, [script, 'more'], { stdio: 'ignore' });
  t.teardown(() => [agent, decoy, withArgument].forEach((child) => child.kill('SIGKILL')));
  const exited = new Promise((resolve) => agent.once('exit', (_code, signal) => resolve(signal)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const ran = spawnSync('sh', ['-c', agentStopScript({ user: userInfo().username, node: process.execPath, script }, unitFile)], { encoding: 'utf8' });
  t.is(ran.status, 0, ran.stderr);
  t.deepEqual(ran.stdout.trim().split('\n'), ['unit', `pid ${agent.pid}`]);
  t.is(await exited, 'SIGTERM');
  t.false(existsSync(unitFile));
  t.is(decoy.exitCode, null, 'another script is left alone');
  t.is(withArgument.exitCode, null, 'another command line is left alone');
});

test('python3 is looked for where the launchers run it and installed from the minimal package; --remotes-dir is a plain absolute path', async (t) => {
  const { parseFacts } = await import('../drivers/machine/provision/host-survey.ts');
  const { checkHostSettings } = await import('../drivers/machine/provisioner.ts');
  t.true(parseFacts('@@kernel\nLinux x86_64\n@@python3\n').python3);
  t.false(parseFacts('@@kernel\nLinux x86_64\n').python3);
  t.deepEqual(packagesFor('apt', ['python3', 'ip']), ['python3-minimal', 'iproute2']);
  t.deepEqual(packagesFor('dnf', ['python3']), ['python3']);
  t.notThrows(() => checkHostSettings({ remotesDir: '/var/tmp/one' }));
  for (const bad of ['relative/one', '/var/tmp/$(id)', '/var/tmp/../etc', '/a b']) {
    t.throws(() => checkHostSettings({ remotesDir: bad }), { message: '--remotes-dir must be an absolute path' }, bad);
  }
});
