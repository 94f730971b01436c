import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectConfigFile, planConfigFile } from '../drivers/opennebula/install/config-files.ts';
import { ConfigSyntaxError, pairValue, parseConfig, type VectorAttribute } from '../drivers/opennebula/install/config-syntax.ts';
import { renderStanza, WANTED_STANZAS } from '../drivers/opennebula/install/dockvisor-stanzas.ts';
import { oneVersion } from '../drivers/opennebula/install/one-version.ts';
import { unifiedDiff } from '../drivers/opennebula/install/unified-diff.ts';
import { repoRoot } from './helpers/paths.ts';

// The stock files of each release (test/fixtures/opennebula-etc/README.md), edited in memory.
const VERSIONS = ['6.10.5', '7.0.2', '7.4.0'];
const stock = (version: string, file: 'oned.conf' | 'monitord.conf') => readFileSync(join(repoRoot, 'test/fixtures/opennebula-etc', version, file), 'utf8');
const install = (text: string, role: 'oned.conf' | 'monitord.conf' = 'oned.conf') => planConfigFile(`/etc/one/${role}`, role, text, 'install');
const uninstall = (text: string, role: 'oned.conf' | 'monitord.conf' = 'oned.conf') => planConfigFile(`/etc/one/${role}`, role, text, 'uninstall');
const vmMad = WANTED_STANZAS.find((stanza) => stanza.attribute === 'VM_MAD')!;

function vectors(text: string, name: string): VectorAttribute[] {
  return parseConfig(text).attributes.filter((a): a is VectorAttribute => a.kind === 'vector' && a.name === name);
}

/** The lines a change removed and added, as sets: what a reader of the diff sees. */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const diff = unifiedDiff(before, after, { before: 'a', after: 'b' }).split('\n').slice(2);
  return {
    removed: diff.filter((line) => line.startsWith('-')).map((line) => line.slice(1)),
    added: diff.filter((line) => line.startsWith('+')).map((line) => line.slice(1)),
  };
}

for (const version of VERSIONS) {
  test(`${version}: every attribute of the stock oned.conf and monitord.conf is read, the drivers by their names`, (t) => {
    const oned = parseConfig(stock(version, 'oned.conf'));
    t.deepEqual(
      vectors(oned.text, 'VM_MAD').map((a) => pairValue(a, 'NAME')),
      ['kvm', 'qemu', 'lxc'],
    );
    t.true(oned.attributes.length > 100);
    const lxc = vectors(oned.text, 'VM_MAD')[2]!;
    t.is(pairValue(lxc, 'KEEP_SNAPSHOTS'), 'no', 'the comment inside the lxc stanza is skipped, not read as a key');
    t.deepEqual(
      vectors(stock(version, 'monitord.conf'), 'IM_MAD').map((a) => pairValue(a, 'NAME')),
      ['kvm', 'qemu', 'lxc'],
      'the commented-out dummy IM_MAD is a comment',
    );
  });

  test(`${version}: install adds exactly dockvisor's lines, a second install changes nothing, uninstall gives back the original bytes`, (t) => {
    for (const role of ['oned.conf', 'monitord.conf'] as const) {
      const original = stock(version, role);
      const installed = install(original, role);
      t.not(installed.after, original);
      t.true(
        inspectConfigFile(role, role, installed.after).every((finding) => finding.state === 'ok'),
        role,
      );
      t.deepEqual(
        changedLines(original, installed.after).removed.filter((line) => !/ARGUMENTS/.test(line)),
        [],
        `${role}: only ARGUMENTS lines change, the rest is added`,
      );
      const again = install(installed.after, role);
      t.is(again.after, installed.after);
      t.deepEqual(again.said, []);
      const removed = uninstall(installed.after, role);
      t.is(removed.after, original, `${role}: byte for byte`);
      t.deepEqual(uninstall(original, role).said, [], 'nothing to take out of a stock file');
    }
  });
}

test('7.4.0: the stanzas and lists as the installer writes them', (t) => {
  const { after, said } = install(stock('7.4.0', 'oned.conf'));
  t.deepEqual(said, [
    'VM_MAD dockvisor added',
    'TM_MAD_CONF dockvisor added',
    'DS_MAD_CONF dockvisor added',
    'TM_MAD -d names dockvisor',
    'DATASTORE_MAD -d names dockvisor',
    'DATASTORE_MAD -s names dockvisor',
  ]);
  t.true(
    after.includes(
      '    KEEP_SNAPSHOTS = "no"\n]\n\n# Added by dockvisor opennebula install\nVM_MAD = [\n    NAME           = "dockvisor",\n    SUNSTONE_NAME  = "Dockvisor",\n' +
        '    EXECUTABLE     = "one_vmm_exec",\n    ARGUMENTS      = "-t 15 -r 0 dockvisor",\n    TYPE           = "xml",\n    KEEP_SNAPSHOTS = "yes",\n    LIVE_RESIZE    = "yes"\n]\n',
    ),
    'after the last VM_MAD, under the marker',
  );
  t.true(after.includes('TM_MAD_CONF = [ NAME = "dockvisor", LN_TARGET = "SYSTEM", CLONE_TARGET = "SYSTEM", SHARED = "YES", DS_MIGRATE = "YES" ]\n'));
  t.true(after.includes('DS_MAD_CONF = [ NAME = "dockvisor", REQUIRED_ATTRS = "REGISTRY", PERSISTENT_ONLY = "NO" ]\n'));
  t.true(after.includes('-d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,local,ceph,dev,iscsi_libvirt,netapp,purefa,dockvisor"'));
  t.true(after.includes('virtiofs,interactive,dockvisor -s dummy,lvm,shared,ssh,local,ceph,fs_lvm,fs_lvm_ssh,qcow2,netapp,purefa,dockvisor"'));
  const monitord = install(stock('7.4.0', 'monitord.conf'), 'monitord.conf').after;
  t.true(
    monitord.includes(
      'IM_MAD = [\n    NAME          = "dockvisor",\n    SUNSTONE_NAME = "Dockvisor",\n    EXECUTABLE    = "one_im_ssh",\n    ARGUMENTS     = "-r 3 -t 15 -w 90 dockvisor",\n    THREADS       = 0\n]\n',
    ),
  );
});

test("an operator's own dockvisor stanza with odd spacing, casing and comments is recognised and left alone", (t) => {
  const base = stock('7.4.0', 'oned.conf');
  const own =
    '\n# my containers\nvm_mad=[name="dockvisor",  # the driver\n  Sunstone_Name = Dockvisor ,executable="one_vmm_exec",\n\targuments = "-t 15 -r 0 dockvisor",TYPE=xml,\n' +
    '  # keep them\n  keep_snapshots="YES", live_resize = "Yes"   ]   # done\n';
  const text = install(base).after.replace(/\n# Added by dockvisor opennebula install\nVM_MAD = \[[^\]]*\]\n/, own);
  t.true(text.includes(own));
  const { after, said } = install(text);
  t.deepEqual(said, []);
  t.is(after, text);
  t.true(inspectConfigFile('oned.conf', 'oned.conf', text).every((finding) => finding.state === 'ok'));
  const removed = uninstall(text).after;
  t.is(removed, uninstall(text.replace(own, '\n# my containers\n')).after, 'the stanza goes with the comment on its last line; the one above it stays');
});

test('a dockvisor VM_MAD with other values is replaced by the wanted one; everything around it stays byte for byte', (t) => {
  const base = stock('6.10.5', 'oned.conf');
  const old =
    'VM_MAD = [\n    NAME = "dockvisor", SUNSTONE_NAME = "Dockvisor", EXECUTABLE = "one_vmm_exec",\n    ARGUMENTS = "-t 15 -r 0 dockvisor", TYPE = "xml", KEEP_SNAPSHOTS = "yes"\n]';
  const text = base.replace(
    '#-------------------------------------------------------------------------------\n#  Dummy Virtualization',
    `# ours, from the old README\n${old}\n#-------------------------------------------------------------------------------\n#  Dummy Virtualization`,
  );
  t.true(text.includes(old));
  t.deepEqual(inspectConfigFile('oned.conf', 'oned.conf', text)[0], {
    state: 'wrong',
    subject: 'oned.conf: VM_MAD dockvisor',
    detail: 'LIVE_RESIZE is missing',
  });
  const { after, said } = install(text);
  t.is(said[0], 'VM_MAD dockvisor replaced (LIVE_RESIZE is missing)');
  t.is(after.split(renderStanza(vmMad)).length, 2, 'one dockvisor VM_MAD, the wanted one');
  t.is(after, install(text.replace(old, renderStanza(vmMad))).after, 'the stanza is rewritten in place; nothing else differs from a fresh install');
  t.true(after.includes(`# ours, from the old README\n${renderStanza(vmMad)}\n#---`), 'the comment above it stays');
  const a = uninstall(after).after;
  t.false(a.includes('"dockvisor"'));
  t.true(a.includes('# ours, from the old README\n#---'), 'uninstall takes out the stanza it replaced, not the comment');
});

test('two dockvisor VM_MAD stanzas: the first is kept (or rewritten), the second goes', (t) => {
  const base = install(stock('7.0.2', 'oned.conf')).after;
  const text = `${base}\nVM_MAD = [ NAME = "dockvisor", EXECUTABLE = "one_vmm_exec" ]\n`;
  t.regex(inspectConfigFile('oned.conf', 'oned.conf', text)[0]!.detail!, /2 stanzas are named dockvisor/);
  const { after, said } = install(text);
  t.deepEqual(said, ['1 more VM_MAD dockvisor removed']);
  t.is(after, `${base}\n`);
});

test('driver lists given with long options, or a DATASTORE_MAD without -s, get dockvisor where the driver reads it', (t) => {
  const text =
    'TM_MAD = [ EXECUTABLE = "one_tm", ARGUMENTS = "-t 15 --tm-types=ssh,shared -w 30" ]\nDATASTORE_MAD = [ EXECUTABLE = "one_datastore", ARGUMENTS = "-t 15 --ds-types fs,ceph" ]\n';
  const { after } = install(text);
  t.true(after.includes('ARGUMENTS = "-t 15 --tm-types=ssh,shared,dockvisor -w 30"'));
  t.true(after.includes('ARGUMENTS = "-t 15 --ds-types fs,ceph,dockvisor -s shared,ssh,ceph,dockvisor"'), 'the default system list, and dockvisor');
  t.is(install(after).after, after);
  t.true(uninstall(after).after.includes('"-t 15 --tm-types=ssh,shared -w 30"'));
  const everything = 'TM_MAD = [ EXECUTABLE = "one_tm", ARGUMENTS = "-t 15" ]\nDATASTORE_MAD = [ EXECUTABLE = "one_datastore", ARGUMENTS = "-t 15 -s ssh" ]\n';
  t.true(install(everything).after.includes('ARGUMENTS = "-t 15" ]'), 'without -d the driver loads every driver: nothing to add');
});

test('a file that is not an oned.conf dockvisor can change is refused, naming it', (t) => {
  const error = t.throws(() => install(stock('7.4.0', 'monitord.conf')));
  t.is(error!.message, '/etc/one/oned.conf is not a oned.conf dockvisor can change: it has no TM_MAD = [ ... ]; nothing written');
  t.is(error!.name, 'InvalidInputError');
});

test('a driver list the installer cannot read is bad input, refused at install and reported by the check', (t) => {
  const datastore = 'DATASTORE_MAD = [ EXECUTABLE = "one_datastore", ARGUMENTS = "-t 15 -d fs" ]\n';
  const cases: [string, string][] = [
    ['TM_MAD = [ EXECUTABLE = "one_tm" ]\n', 'its TM_MAD has no ARGUMENTS'],
    ['TM_MAD = [ EXECUTABLE = "one_tm", ARGUMENTS = "-t 15 -d" ]\n', 'TM_MAD ARGUMENTS: -d has no list after it'],
  ];
  for (const [tm, reason] of cases) {
    const error = t.throws(() => install(tm + datastore), { name: 'InvalidInputError' });
    t.is(error!.message, `/etc/one/oned.conf is not a oned.conf dockvisor can change: ${reason}; nothing written`);
    t.true(
      inspectConfigFile('oned.conf', 'oned.conf', tm + datastore).some((finding) => finding.state === 'wrong' && finding.detail === reason),
      reason,
    );
  }
});

const unparsable: [string, string, string][] = [
  ['an unterminated vector', 'VM_MAD = [ NAME = "kvm",\n', 'line 2, column 1: expected a key after "," in VM_MAD'],
  ['an unterminated quote', 'LOG = [ SYSTEM = "file ]\n', 'line 1, column 18: the quoted value of SYSTEM in LOG never ends'],
  ['a stray bracket', 'PORT = 2633\n]\n', 'line 2, column 1: expected an attribute name'],
  ['a key without "="', 'VM_MAD = [ NAME "kvm" ]\n', 'line 1, column 17: expected "=" after NAME in VM_MAD'],
  ['an empty value inside a vector', 'VM_MAD = [ NAME =\n "kvm" ]\n', 'line 1, column 18: NAME in VM_MAD has no value'],
];
for (const [what, text, reason] of unparsable) {
  test(`${what} is refused in one line that names the file and the place`, (t) => {
    t.is(t.throws(() => install(text))!.message, `/etc/one/oned.conf cannot be parsed (${reason}); nothing written`);
  });
}

test('a mistake at the end of a stock oned.conf is found on its line', (t) => {
  const text = `${stock('7.4.0', 'oned.conf')}VM_MAD = [ NAME = "dockvisor",\n`;
  t.is(
    t.throws(() => install(text))!.message,
    '/etc/one/oned.conf cannot be parsed (line 1482, column 1: expected a key after "," in VM_MAD); nothing written',
  );
});

test('the syntax oned reads: empty values, escaped quotes, comments anywhere, a last line without a newline', (t) => {
  const document = parseConfig('EMPTY =\nQUOTED = "a \\"b\\" c" # trailing\nBARE=42\n# the end');
  t.deepEqual(
    document.attributes.map((a) => (a.kind === 'single' ? [a.name, a.value?.text] : [a.name])),
    [
      ['EMPTY', undefined],
      ['QUOTED', 'a "b" c'],
      ['BARE', '42'],
    ],
  );
  t.throws(() => parseConfig('A = "x'), { instanceOf: ConfigSyntaxError });
});

test('the diff, given to patch, turns the file before into the file after', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dvt-oneinst-diff-'));
  const patched = (before: string, after: string) => {
    writeFileSync(join(dir, 'before'), before);
    writeFileSync(join(dir, 'diff'), unifiedDiff(before, after, { before: 'before', after: 'after' }));
    const run = spawnSync('patch', ['-s', '-o', join(dir, 'out'), join(dir, 'before'), join(dir, 'diff')], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr + run.stdout);
    return readFileSync(join(dir, 'out'), 'utf8');
  };
  try {
    for (const version of VERSIONS) {
      const before = stock(version, 'oned.conf');
      const after = install(before).after;
      t.is(patched(before, after), after, version);
      t.is(patched(after, before), before, `${version}, back`);
    }
    t.is(patched('a\nb\nc', 'a\nc\nd\n'), 'a\nc\nd\n', 'a last line without a newline');
    t.is(patched('', 'x\n'), 'x\n', 'from an empty file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the OpenNebula version: --one-version, else the Ruby library, else oned --version; only known releases', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dvt-oneinst-version-'));
  try {
    const ruby = join(dir, 'opennebula.rb');
    writeFileSync(ruby, "module OpenNebula\n    # OpenNebula version\n    VERSION = '7.4.0'\nend\n");
    t.deepEqual(oneVersion({ rubyFile: ruby }), { version: '7.4.0', release: '7.4', source: ruby });
    t.deepEqual(oneVersion({ rubyFile: ruby, override: '6.10' }), { version: '6.10', release: '6.10', source: '--one-version' });
    const oned = join(dir, 'oned');
    writeFileSync(oned, '#!/bin/sh\necho "OpenNebula 7.0.2"\necho "Copyright 2002-2025, OpenNebula Project, OpenNebula Systems"\n');
    chmodSync(oned, 0o755);
    t.deepEqual(oneVersion({ rubyFile: join(dir, 'absent.rb'), oned }), { version: '7.0.2', release: '7.0', source: `${oned} --version` });
    writeFileSync(ruby, "VERSION = '7.2.0'\n");
    t.is(t.throws(() => oneVersion({ rubyFile: ruby }))!.message, `OpenNebula 7.2.0 (${ruby}) is not a version dockvisor knows (6.10, 7.0, 7.4)`);
    t.is(t.throws(() => oneVersion({ override: 'latest' }))!.message, '"latest" (--one-version) is not an OpenNebula version');
    t.regex(
      t.throws(() => oneVersion({ rubyFile: join(dir, 'absent.rb'), oned: join(dir, 'no-oned') }))!.message,
      /^cannot tell the OpenNebula version: .*; pass --one-version$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the front-end identity is written into a host config the driver would read, and nowhere else', async (t) => {
  const { giveFrontEndId } = await import('../drivers/opennebula/install/front-end-id.ts');
  const dir = mkdtempSync(join(tmpdir(), 'dvt-front-end-id-'));
  try {
    const file = join(dir, 'dockvisor.conf');
    writeFileSync(file, '{\n  "pidsLimit": 10\n}\n');
    const given = giveFrontEndId(file);
    t.true(given.given);
    t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { pidsLimit: 10, frontEndId: given.id });
    t.deepEqual(giveFrontEndId(file), { id: given.id, given: false }, 'kept once given');

    const refusals: [string, string][] = [
      ['{ "pidsLimit": "many" }', 'pidsLimit must be a whole number'],
      ['{ "frontEndId": "-bad id" }', 'frontEndId must be at most 63 letters, digits, ".", "_" or "-", a letter or digit first'],
      ['null', 'the file must be a JSON object'],
    ];
    for (const [text, problem] of refusals) {
      writeFileSync(file, text);
      const error = t.throws(() => giveFrontEndId(file), { name: 'InvalidInputError' });
      t.is(error!.message, `host config ${file}: ${problem}; the front-end's identity was not written`);
      t.is(readFileSync(file, 'utf8'), text, 'the file is left as it was');
    }
    t.is(
      t.throws(() => giveFrontEndId(join(dir, 'missing.conf')))!.message,
      `host config ${join(dir, 'missing.conf')} does not exist; the front-end's identity was not written`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
