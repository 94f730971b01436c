import test from 'ava';
import { ProvisionContext } from '../drivers/machine/provision/context.ts';
import { factsScript, MONITORING_CLIENT_LIBRARIES, parseFacts } from '../drivers/machine/provision/host-survey.ts';
import { opennebulaToolsStep } from '../drivers/machine/provision/opennebula-tools-step.ts';
import type { SupportedOs } from '../drivers/machine/host-os.ts';
import { ScriptedHost } from './helpers/scripted-host.ts';

// OpenNebula runs its own monitoring client on the host (monitord-client.rb: Ruby and the libraries it loads)
// and copies the remotes there with rsync: provisioning sees to both.
const LIBRARIES = MONITORING_CLIENT_LIBRARIES;
const WITH_RUBY = ['base64', 'yaml', 'open3', 'openssl', 'socket', 'zlib', 'fileutils'];
const DEBIAN: SupportedOs = { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian 12', family: 'apt' };
const FEDORA: SupportedOs = { id: 'fedora', idLike: [], versionId: '42', prettyName: 'Fedora 42', family: 'dnf' };

/** A host whose commands and Ruby libraries are what `installed` holds; package installs add to it. */
function hostWith(installed: Set<string>, provides: Record<string, string[]>) {
  return new ScriptedHost((command) => {
    if (command.includes('echo @@kernel')) {
      const paths = ['ruby', 'rsync'].filter((name) => installed.has(name)).map((name) => `${name} /usr/bin/${name}`);
      const libraries = LIBRARIES.filter((library) => !installed.has(library));
      const ruby = installed.has('ruby') ? ['@@ruby-missing', ...libraries] : [];
      return { code: 0, stdout: ['@@kernel', 'Linux x86_64', '@@paths', 'ip /usr/sbin/ip', ...paths, ...ruby, ''].join('\n') };
    }
    const install = /(?:apt-get .* install|dnf install) -y -q (?:--no-install-recommends )?(.*)$/.exec(command);
    if (install) for (const name of install[1]!.split(' ')) for (const what of provides[name.replace(/'/g, '')] ?? []) installed.add(what);
    return { code: command.startsWith('apt-get') || install ? 0 : 1, stdout: '' };
  });
}

function contextOn(host: ScriptedHost, os: SupportedOs): ProvisionContext {
  const context = new ProvisionContext({ name: 'h', ssh: host.target, steps: {}, createdAt: '', updatedAt: '' }, host as never);
  context.os = os;
  return context;
}

const packageCommands = (host: ScriptedHost) => host.commands.filter((command) => /apt-get|dnf /.test(command));

test('a Debian host without Ruby and rsync gets ruby, ruby-sqlite3 and rsync in one install', async (t) => {
  const installed = new Set<string>();
  const host = hostWith(installed, { ruby: ['ruby', ...WITH_RUBY, 'rexml/document'], 'ruby-sqlite3': ['sqlite3'], rsync: ['rsync'] });
  const context = contextOn(host, DEBIAN);
  t.deepEqual(await opennebulaToolsStep.check(context), { ok: false, detail: 'missing ruby, rsync' });
  await opennebulaToolsStep.apply!(context);
  context.forgetFacts();
  t.deepEqual(await opennebulaToolsStep.check(context), {
    ok: true,
    detail: "ruby /usr/bin/ruby with the monitoring client's libraries, rsync /usr/bin/rsync",
  });
  t.deepEqual(packageCommands(host), [
    'apt-get -o DPkg::Lock::Timeout=300 update -q',
    'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends ruby rsync ruby-sqlite3',
  ]);
});

test('a Fedora host whose Ruby lacks libraries the monitoring client loads gets the packages that provide them, by what they provide', async (t) => {
  const installed = new Set(['ruby', 'rsync', ...WITH_RUBY.filter((library) => library !== 'base64')]);
  const host = hostWith(installed, { 'rubygem(base64)': ['base64'], 'rubygem(rexml)': ['rexml/document'], 'rubygem(sqlite3)': ['sqlite3'] });
  const context = contextOn(host, FEDORA);
  t.deepEqual(await opennebulaToolsStep.check(context), { ok: false, detail: 'ruby cannot load base64, rexml/document, sqlite3' });
  await opennebulaToolsStep.apply!(context);
  context.forgetFacts();
  t.like(await opennebulaToolsStep.check(context), { ok: true });
  t.deepEqual(packageCommands(host), ["dnf install -y -q 'rubygem(base64)' 'rubygem(rexml)' 'rubygem(sqlite3)'"]);
});

test('a Fedora host without Ruby: ruby and sqlite3 first, then what that ruby still cannot load', async (t) => {
  const installed = new Set(['rsync']);
  const host = hostWith(installed, {
    ruby: ['ruby', ...WITH_RUBY.filter((library) => library !== 'base64')],
    'rubygem(sqlite3)': ['sqlite3'],
    'rubygem(base64)': ['base64'],
    'rubygem(rexml)': ['rexml/document'],
  });
  const context = contextOn(host, FEDORA);
  t.deepEqual(await opennebulaToolsStep.check(context), { ok: false, detail: 'missing ruby' });
  await opennebulaToolsStep.apply!(context);
  context.forgetFacts();
  t.like(await opennebulaToolsStep.check(context), { ok: true });
  t.deepEqual(packageCommands(host), ["dnf install -y -q ruby 'rubygem(sqlite3)'", "dnf install -y -q 'rubygem(base64)' 'rubygem(rexml)'"]);
});

test('a host that has everything is only looked at', async (t) => {
  const installed = new Set(['ruby', 'rsync', ...LIBRARIES]);
  const host = hostWith(installed, {});
  t.like(await opennebulaToolsStep.check(contextOn(host, DEBIAN)), { ok: true });
  t.deepEqual(packageCommands(host), []);
});

test('the facts say which libraries of the monitoring client the host Ruby cannot load, asking Ruby once', (t) => {
  const script = factsScript('/var/run/docker.sock', ['oneadmin'], '/etc/sudoers.d/dockvisor-oneadmin', '/usr/lib/dockvisor/node');
  t.regex(script, /for c in [^;]*\bruby rsync\b/);
  t.is(script.match(/ruby -e/g)?.length, 1);
  t.true(script.includes(`' ${LIBRARIES.join(' ')} 2>/dev/null`), 'every library the client loads');
  t.regex(script, /ruby -e '[^']*require[^']*' base64/);
  const facts = parseFacts(['@@paths', 'ruby /usr/bin/ruby', '@@ruby-missing', 'sqlite3', ''].join('\n'));
  t.deepEqual(facts.rubyMissing, ['sqlite3']);
  t.is(parseFacts('@@paths\n').rubyMissing, undefined, 'no ruby, nothing asked');
});
