import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_CONTROL, CLIENT_RB, dockvisorOpennebula, fakeFrontEnd, snapshot, type ClientLayout, type FakeFrontEnd } from './helpers/front-end.ts';
import { repoRoot } from './helpers/paths.ts';

// `dockvisor opennebula install | uninstall | check` run as a subprocess on front-ends laid out in temporary
// directories like each release's packages (test/helpers/front-end.ts). The bundles must be built (npm test does).
const RELEASES: [version: string, flag: string][] = [
  ['6.10.5', '6.10.5'],
  ['7.0.2', '7.0.2'],
  ['7.4.0', '7.4.0'],
];
const DRIVER_DIRS = ['vmm/dockvisor', 'tm/dockvisor', 'datastore/dockvisor', 'im/dockvisor.d', 'im/dockvisor-probes.d', 'lib/dockvisor'];
/** dockvisor's NIC class for OpenNebula's network drivers, in their directory of add-ons. */
const NIC_CLASS = 'vnm/vnmmad-load.d/dockvisor.rb';
const nicClassText = readFileSync(join(repoRoot, 'remotes', NIC_CLASS), 'utf8');

function withFrontEnd(version: string, layout: ClientLayout, body: (fe: FakeFrontEnd) => void): void {
  const fe = fakeFrontEnd(version, layout);
  try {
    body(fe);
  } finally {
    fe.cleanup();
  }
}

const stockText = (version: string, file: string) => readFileSync(join(repoRoot, 'test/fixtures/opennebula-etc', version, file), 'utf8');
const backups = (fe: FakeFrontEnd) =>
  readdirSync(join(fe.dir, 'etc/one'))
    .filter((name) => name.includes('.dockvisor-'))
    .sort();
const problems = (stdout: string) => stdout.split('\n').filter((line) => /^(missing|wrong) /.test(line));

/** One line on stderr, exit 1, and not one byte of the front-end changed. */
function assertRefused(t: import('ava').ExecutionContext, fe: FakeFrontEnd, args: string[], message: RegExp): void {
  const before = snapshot(fe.dir);
  const run = dockvisorOpennebula(args);
  t.is(run.status, 1, run.stdout + run.stderr);
  const lines = run.stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, run.stderr);
  t.regex(lines[0]!, message);
  t.deepEqual(snapshot(fe.dir), before, 'nothing written');
}

for (const [version, flag] of RELEASES) {
  test.serial(`${version}: install, check green, a second install changes nothing, uninstall gives back the original files`, (t) => {
    withFrontEnd(version, 'packaged', (fe) => {
      const args = [...fe.flags, '--one-version', flag];
      const installed = dockvisorOpennebula(['install', ...args]);
      t.is(installed.status, 0, installed.stderr);
      t.regex(installed.stdout, new RegExp(`^OpenNebula ${flag.replaceAll('.', '\\.')} \\(--one-version\\)\\n`));
      t.regex(installed.stdout, /im\/dockvisor\.d: placed \(2 new files\), monitoring client from im\/kvm\.d/);
      t.regex(
        installed.stdout,
        /oned\.conf: VM_MAD dockvisor added; TM_MAD_CONF dockvisor added; DS_MAD_CONF dockvisor added; TM_MAD -d names dockvisor; DATASTORE_MAD -d names dockvisor; DATASTORE_MAD -s names dockvisor \(the file as it was: .*oned\.conf\.dockvisor-\d{8}T\d{6}Z\)/,
      );
      t.regex(installed.stdout, /monitord\.conf: IM_MAD dockvisor added/);
      t.regex(installed.stdout, /restart OpenNebula/);
      t.deepEqual(
        backups(fe).map((name) => name.replace(/\d{8}T\d{6}Z$/, 'STAMP')),
        ['monitord.conf.dockvisor-STAMP', 'oned.conf.dockvisor-STAMP'],
      );
      for (const name of backups(fe)) t.is(readFileSync(join(fe.dir, 'etc/one', name), 'utf8'), stockText(version, name.split('.dockvisor-')[0]!));
      t.regex(readFileSync(fe.onedConf, 'utf8'), /LIVE_RESIZE {4}= "yes"/);
      for (const dir of DRIVER_DIRS) t.true(statSync(join(fe.remotes, dir)).isDirectory(), dir);
      t.true(existsSync(join(fe.remotes, 'etc/vmm/dockvisor/dockvisor.conf')));
      t.true(existsSync(join(fe.remotes, 'etc/tm/dockvisor/dockvisor.conf')));
      t.true(existsSync(join(fe.remotes, 'lib/dockvisor/vmm.mjs')));
      t.true(lstatSync(join(fe.remotes, 'vmm/dockvisor/migrate')).isFile(), "the package's links within a directory become files too");
      t.regex(installed.stdout, /\/vnm\/vnmmad-load\.d\/dockvisor\.rb: placed \(1 new file\)$/m);
      t.is(readFileSync(join(fe.remotes, NIC_CLASS), 'utf8'), nicClassText);

      const checked = dockvisorOpennebula(['check', ...args]);
      t.is(checked.status, 0, checked.stdout + checked.stderr);
      t.deepEqual(problems(checked.stdout), []);
      t.regex(checked.stdout, /^ok {7}.*oned\.conf: VM_MAD dockvisor$/m);
      t.regex(checked.stdout, /^skipped {2}OpenNebula hosts and datastores: no OpenNebula credentials: .*; not checked$/m);
      t.regex(checked.stdout, /dockvisor is installed and configured on this front-end\n$/);

      const after = snapshot(fe.dir);
      const again = dockvisorOpennebula(['install', ...args]);
      t.is(again.status, 0, again.stderr);
      t.is(
        again.stdout,
        `OpenNebula ${flag} (--one-version)\nnothing to change: dockvisor is installed on this front-end\n` +
          `connection keeper: not started: ${fe.remotes} belongs to root, not to the user oned runs as\n`,
      );
      t.deepEqual(snapshot(fe.dir), after, 'not a byte, not a backup');

      const removed = dockvisorOpennebula(['uninstall', ...args]);
      t.is(removed.status, 0, removed.stderr);
      t.is(readFileSync(fe.onedConf, 'utf8'), stockText(version, 'oned.conf'));
      t.is(readFileSync(fe.monitordConf, 'utf8'), stockText(version, 'monitord.conf'));
      for (const dir of DRIVER_DIRS) t.false(existsSync(join(fe.remotes, dir)), dir);
      t.false(existsSync(join(fe.remotes, NIC_CLASS)));
      t.regex(removed.stdout, /etc\/vmm\/dockvisor: kept \(the admin's; --purge removes it\)/);
      t.true(existsSync(join(fe.remotes, 'etc/tm/dockvisor/dockvisor.conf')));
      t.is(readFileSync(join(fe.remotes, 'im/kvm.d/monitord-client.rb'), 'utf8'), CLIENT_RB, "OpenNebula's own files are left alone");
      t.true(existsSync(join(fe.remotes, 'vmm/kvm/deploy')));
      t.is(backups(fe).length, 4, 'uninstall kept the files as they were too');

      const unchanged = snapshot(fe.dir);
      const twice = dockvisorOpennebula(['uninstall', ...args]);
      t.is(twice.status, 0, twice.stderr);
      t.regex(twice.stdout, /nothing to change: dockvisor is not installed on this front-end\n$/);
      t.deepEqual(snapshot(fe.dir), unchanged);
      const purged = dockvisorOpennebula(['uninstall', '--purge', ...args]);
      t.is(purged.status, 0, purged.stderr);
      t.false(existsSync(join(fe.remotes, 'etc/vmm/dockvisor')));
      t.false(existsSync(join(fe.remotes, 'etc/tm/dockvisor')));
      t.true(existsSync(join(fe.remotes, 'etc/vmm/kvm/kvmrc')));

      const bare = dockvisorOpennebula(['check', ...args]);
      t.is(bare.status, 1);
      t.regex(bare.stdout, /^missing {2}.*oned\.conf: VM_MAD dockvisor: not there$/m);
      t.regex(bare.stdout, /^missing {2}.*remotes\/vmm\/dockvisor$/m);
      t.regex(bare.stdout, /^missing {2}.*remotes\/vnm\/vnmmad-load\.d\/dockvisor\.rb: onehost sync carries it to hosts/m);
    });
  });

  test.serial(`${version}: the installed remotes copy to a host with rsync -aL, the monitoring client as real files`, (t) => {
    withFrontEnd(version, 'packaged', (fe) => {
      t.is(dockvisorOpennebula(['install', ...fe.flags, '--one-version', flag]).status, 0);
      const host = join(fe.dir, 'var-tmp-one');
      const copied = spawnSync('rsync', ['-aL', `${fe.remotes}/`, `${host}/`], { encoding: 'utf8' });
      t.is(copied.status, 0, copied.stderr);
      for (const [name, text] of [
        ['monitord-client.rb', CLIENT_RB],
        ['monitord-client_control.sh', CLIENT_CONTROL],
      ] as const) {
        for (const root of [fe.remotes, host]) {
          const path = join(root, 'im/dockvisor.d', name);
          t.true(lstatSync(path).isFile(), path);
          t.is(readFileSync(path, 'utf8'), text);
        }
      }
      t.is(statSync(join(host, 'im/dockvisor.d/monitord-client_control.sh')).mode & 0o777, 0o755);
    });
  });
}

test.serial(
  'what packaging/install-opennebula.sh used to leave (links to a common.d a packaged front-end lacks) breaks rsync -aL; check says so, install mends it',
  (t) => {
    withFrontEnd('7.4.0', 'packaged', (fe) => {
      const args = [...fe.flags, '--one-version', '7.4.0'];
      t.is(dockvisorOpennebula(['install', ...args]).status, 0);
      const client = join(fe.remotes, 'im/dockvisor.d');
      rmSync(client, { recursive: true });
      mkdirSync(client);
      for (const name of ['monitord-client.rb', 'monitord-client_control.sh']) symlinkSync(`../common.d/${name}`, join(client, name));
      const broken = spawnSync('rsync', ['-aL', `${fe.remotes}/`, join(fe.dir, 'copy1/')], { encoding: 'utf8' });
      t.not(broken.status, 0, 'the copy OpenNebula makes to hosts fails: the host would go to ERROR');
      t.regex(broken.stderr, /symlink has no referent/);

      const checked = dockvisorOpennebula(['check', ...args]);
      t.is(checked.status, 1);
      t.deepEqual(
        problems(checked.stdout).map((line) => line.replace(fe.remotes, 'REMOTES')),
        [
          'wrong    REMOTES/im/dockvisor.d/monitord-client.rb: a link to ../common.d/monitord-client.rb: the copy to hosts needs a file',
          'wrong    REMOTES/im/dockvisor.d/monitord-client_control.sh: a link to ../common.d/monitord-client_control.sh: the copy to hosts needs a file',
        ],
      );
      const mended = dockvisorOpennebula(['install', ...args]);
      t.is(mended.status, 0, mended.stderr);
      t.regex(mended.stdout, /im\/dockvisor\.d: placed \(2 changed files\), monitoring client from im\/kvm\.d\n/);
      t.is(spawnSync('rsync', ['-aL', `${fe.remotes}/`, join(fe.dir, 'copy2/')]).status, 0);
    });
  },
);

test.serial("dockvisor's NIC class goes into OpenNebula's vnmmad-load.d beside what is there, onehost sync's copy carries it, uninstall takes only it", (t) => {
  withFrontEnd('7.4.0', 'packaged', (fe) => {
    const args = [...fe.flags, '--one-version', '7.4.0'];
    const loadDir = join(fe.remotes, 'vnm/vnmmad-load.d');
    mkdirSync(loadDir, { recursive: true });
    writeFileSync(join(loadDir, 'site.rb'), '# another add-on of the site\n');
    writeFileSync(join(fe.remotes, 'vnm/vnmmad.rb'), "# OpenNebula's own\n");
    const directory = statSync(loadDir).ino;
    const others = () => Object.entries(snapshot(fe.remotes)).filter(([path]) => path.startsWith('vnm/') && path !== NIC_CLASS && path !== 'vnm/vnmmad-load.d');
    const before = others();

    const installed = dockvisorOpennebula(['install', ...args]);
    t.is(installed.status, 0, installed.stderr);
    t.regex(installed.stdout, new RegExp(`^${loadDir}/dockvisor\\.rb: placed \\(1 new file\\)$`, 'm'));
    t.is(readFileSync(join(fe.remotes, NIC_CLASS), 'utf8'), nicClassText);
    t.is(statSync(loadDir).ino, directory, 'the directory itself is not replaced');
    t.deepEqual(others(), before, 'nothing else in vnm/ touched');
    t.deepEqual(readdirSync(loadDir).sort(), ['dockvisor.rb', 'site.rb'], 'no staging file left');
    const copy = join(fe.dir, 'var-tmp-one');
    t.is(spawnSync('rsync', ['-aL', `${fe.remotes}/`, `${copy}/`]).status, 0);
    t.is(readFileSync(join(copy, NIC_CLASS), 'utf8'), nicClassText, "on a host after the copy, where OpenNebula's drivers load it");

    const checked = dockvisorOpennebula(['check', ...args]);
    t.regex(checked.stdout, new RegExp(`^ok {7}${loadDir}/dockvisor\\.rb: the same as this dockvisor's$`, 'm'));
    writeFileSync(join(fe.remotes, NIC_CLASS), '# edited\n');
    t.deepEqual(problems(dockvisorOpennebula(['check', ...args]).stdout), [`wrong    ${loadDir}/dockvisor.rb: differs from this dockvisor's`]);
    const mended = dockvisorOpennebula(['install', ...args]);
    t.regex(mended.stdout, new RegExp(`^${loadDir}/dockvisor\\.rb: placed \\(1 changed file\\)$`, 'm'));
    t.is(readFileSync(join(fe.remotes, NIC_CLASS), 'utf8'), nicClassText);

    const removed = dockvisorOpennebula(['uninstall', ...args]);
    t.is(removed.status, 0, removed.stderr);
    t.regex(removed.stdout, new RegExp(`^${loadDir}/dockvisor\\.rb: removed$`, 'm'));
    t.deepEqual(readdirSync(loadDir), ['site.rb']);
    t.deepEqual(others(), before);
  });
});

const layouts: [ClientLayout, string][] = [
  ['lxc-only', 'im/lxc.d'],
  ['common.d', 'im/common.d'],
];
for (const [layout, source] of layouts) {
  test.serial(`a front-end whose monitoring client is only in ${source}: copied from there as files`, (t) => {
    withFrontEnd('6.10.5', layout, (fe) => {
      const run = dockvisorOpennebula(['install', ...fe.flags, '--one-version', '6.10.5']);
      t.is(run.status, 0, run.stderr);
      t.regex(run.stdout, new RegExp(`monitoring client from ${source.replace('.', '\\.')}`));
      t.true(lstatSync(join(fe.remotes, 'im/dockvisor.d/monitord-client.rb')).isFile());
      t.is(spawnSync('rsync', ['-aL', `${fe.remotes}/`, join(fe.dir, 'copy/')]).status, 0);
    });
  });
}

test.serial('--dry-run prints the diffs and what would be placed, and writes nothing', (t) => {
  withFrontEnd('7.4.0', 'packaged', (fe) => {
    const args = [...fe.flags, '--one-version', '7.4.0'];
    const before = snapshot(fe.dir);
    const run = dockvisorOpennebula(['install', '--dry-run', ...args]);
    t.is(run.status, 0, run.stderr);
    t.deepEqual(snapshot(fe.dir), before);
    t.regex(run.stdout, /^would place .*\/vmm\/dockvisor: \d+ new files$/m);
    t.regex(run.stdout, /^would place .*\/vnm\/vnmmad-load\.d\/dockvisor\.rb: 1 new file$/m);
    t.regex(run.stdout, new RegExp(`^--- ${fe.onedConf}\\n\\+\\+\\+ ${fe.onedConf} \\(after dockvisor opennebula install\\)\\n@@ -522,6 \\+522,17 @@\\n`, 'm'));
    t.regex(run.stdout, /^\+ {4}LIVE_RESIZE {4}= "yes"$/m);
    t.regex(run.stdout, /^\+ {4}ARGUMENTS = "-t 15 -d dummy,.*,purefa,dockvisor"$/m);
    t.regex(run.stdout, /^\+IM_MAD = \[$/m);
    t.regex(run.stdout, /dry run: nothing written\n$/);

    t.is(dockvisorOpennebula(['install', ...args]).status, 0);
    const installed = snapshot(fe.dir);
    const undo = dockvisorOpennebula(['uninstall', '--dry-run', ...args]);
    t.is(undo.status, 0, undo.stderr);
    t.deepEqual(snapshot(fe.dir), installed);
    t.regex(undo.stdout, /^-VM_MAD = \[$/m);
    t.regex(undo.stdout, /^would remove .*\/lib\/dockvisor$/m);
    t.regex(undo.stdout, /^would remove .*\/vnm\/vnmmad-load\.d\/dockvisor\.rb$/m);
  });
});

test.serial("config files keep their owner and mode, and so do their backups; what is placed belongs to the remotes directory's owner", (t) => {
  withFrontEnd('7.0.2', 'packaged', (fe) => {
    chmodSync(fe.onedConf, 0o640);
    chownSync(fe.onedConf, 9001, 9002);
    chownSync(fe.remotes, 9101, 9102);
    const run = dockvisorOpennebula(['install', ...fe.flags, '--one-version', '7.0.2']);
    t.is(run.status, 0, run.stderr);
    const backup = join(
      fe.dir,
      'etc/one',
      backups(fe).find((name) => name.startsWith('oned.conf'))!,
    );
    for (const path of [fe.onedConf, backup]) {
      const stat = statSync(path);
      t.deepEqual([stat.mode & 0o7777, stat.uid, stat.gid], [0o640, 9001, 9002], path);
    }
    for (const path of [
      'vmm/dockvisor',
      'vmm/dockvisor/deploy',
      'lib/dockvisor/vmm.mjs',
      'im/dockvisor.d/monitord-client.rb',
      'etc/tm/dockvisor/dockvisor.conf',
      NIC_CLASS,
    ]) {
      const stat = statSync(join(fe.remotes, path));
      t.deepEqual([stat.uid, stat.gid], [9101, 9102], path);
    }
    t.is(statSync(join(fe.remotes, 'vmm/dockvisor/deploy')).mode & 0o777, 0o755);
    t.deepEqual(
      readdirSync(join(fe.dir, 'etc/one')).filter((name) => name.includes('.tmp')),
      [],
      'no staging file left',
    );
  });
});

test.serial('a dockvisor VM_MAD with other values: check calls it wrong, the dry run shows the replacement, install replaces it', (t) => {
  withFrontEnd('7.4.0', 'packaged', (fe) => {
    const args = [...fe.flags, '--one-version', '7.4.0'];
    t.is(dockvisorOpennebula(['install', ...args]).status, 0);
    const text = readFileSync(fe.onedConf, 'utf8');
    writeFileSync(fe.onedConf, text.replace('    KEEP_SNAPSHOTS = "yes",\n    LIVE_RESIZE    = "yes"\n', '    KEEP_SNAPSHOTS = "no"\n'));
    const checked = dockvisorOpennebula(['check', ...args]);
    t.is(checked.status, 1);
    t.deepEqual(problems(checked.stdout), [`wrong    ${fe.onedConf}: VM_MAD dockvisor: KEEP_SNAPSHOTS is "no", not "yes", LIVE_RESIZE is missing`]);
    const dry = dockvisorOpennebula(['install', '--dry-run', ...args]);
    t.regex(dry.stdout, /^-    KEEP_SNAPSHOTS = "no"\n\+    KEEP_SNAPSHOTS = "yes",\n\+    LIVE_RESIZE    = "yes"$/m);
    const run = dockvisorOpennebula(['install', ...args]);
    t.regex(run.stdout, /VM_MAD dockvisor replaced \(KEEP_SNAPSHOTS is "no", not "yes", LIVE_RESIZE is missing\)/);
    t.is(readFileSync(fe.onedConf, 'utf8'), text);
  });
});

test.serial('refused in one line, nothing written: an oned.conf that cannot be parsed', (t) => {
  withFrontEnd('7.4.0', 'packaged', (fe) => {
    writeFileSync(fe.onedConf, `${readFileSync(fe.onedConf, 'utf8')}VM_MAD = [ NAME = "dockvisor"\n`);
    assertRefused(
      t,
      fe,
      ['install', ...fe.flags, '--one-version', '7.4.0'],
      /^dockvisor: .*oned\.conf cannot be parsed \(line 1482, column 1: expected "," or "]" after NAME in VM_MAD\); nothing written$/,
    );
    assertRefused(t, fe, ['uninstall', ...fe.flags, '--one-version', '7.4.0'], /cannot be parsed/);
  });
});

test.serial('refused in one line, nothing written: a monitord.conf that is not one', (t) => {
  withFrontEnd('7.4.0', 'packaged', (fe) => {
    writeFileSync(fe.monitordConf, 'IM_MAD = [ NAME = "kvm", ARGUMENTS = "-r 3 ]\n');
    assertRefused(
      t,
      fe,
      ['install', ...fe.flags, '--one-version', '7.4.0'],
      /^dockvisor: .*monitord\.conf cannot be parsed \(line 1, column 38: the quoted value of ARGUMENTS in IM_MAD never ends\); nothing written$/,
    );
  });
});

const versions: [string, string[], RegExp][] = [
  [
    'a version it does not know',
    ['--one-version', '7.2.0'],
    /^dockvisor: OpenNebula 7\.2\.0 \(--one-version\) is not a version dockvisor knows \(6\.10, 7\.0, 7\.4\); nothing written$/,
  ],
  ['an older one', ['--one-version', '5.12.0'], /is not a version dockvisor knows/],
  ['something that is no version', ['--one-version', '7.4;id'], /^dockvisor: "7\.4;id" \(--one-version\) is not an OpenNebula version; nothing written$/],
  [
    'no version to be found',
    [],
    /^dockvisor: cannot tell the OpenNebula version: no \/usr\/lib\/one\/ruby\/opennebula\.rb, and `oned --version` cannot run; pass --one-version; nothing written$/,
  ],
];
for (const [what, flags, message] of versions) {
  test.serial(`refused in one line, nothing written: ${what}`, (t) => {
    withFrontEnd('7.4.0', 'packaged', (fe) => {
      assertRefused(t, fe, ['install', ...fe.flags, ...flags], message);
    });
  });
}

test.serial("refused in one line, nothing written: a front-end without OpenNebula's monitoring client", (t) => {
  withFrontEnd('7.4.0', 'none', (fe) => {
    assertRefused(
      t,
      fe,
      ['install', ...fe.flags, '--one-version', '7.4.0'],
      /^dockvisor: no OpenNebula monitoring client under .*: none of im\/kvm\.d, im\/lxc\.d, im\/common\.d holds monitord-client\.rb and monitord-client_control\.sh \(is OpenNebula installed there\?\); nothing written$/,
    );
  });
});

test.serial('refused in one line, nothing written: a remotes directory that is not there, a flag given twice', (t) => {
  withFrontEnd('7.4.0', 'packaged', (fe) => {
    const flags = fe.flags.map((value) => (value === fe.remotes ? join(fe.dir, 'nowhere') : value));
    assertRefused(
      t,
      fe,
      ['install', ...flags, '--one-version', '7.4.0'],
      /^dockvisor: .*\/nowhere is not a directory \(is OpenNebula installed\? --remotes names another\); nothing written$/,
    );
    assertRefused(t, fe, ['install', ...fe.flags, '--remotes', fe.remotes, '--one-version', '7.4.0'], /^dockvisor: --remotes is given more than once$/);
  });
});
