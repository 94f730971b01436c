import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostStore } from '../drivers/hosts/host-store.ts';
import { RegistryClient } from '../drivers/images/registry/registry-client.ts';
import { runDs, TARBALL_DIR } from './helpers/datastore.ts';
import { repoRoot } from './helpers/paths.ts';
import { repositoryLinks, TestRegistry } from './helpers/registry.ts';
import { collect, type ActionResult } from './helpers/vmm.ts';

// Input that used to slip through the datastore actions and `dockvisor host`: each is refused with one line.
const datastore = new TestRegistry('hostile-ds', 5441);
const registryAddress = datastore.address;
const files = join(TARBALL_DIR, 'hostile-wa');
const config = mkdtempSync(join(tmpdir(), 'dvt-wa-hosts-'));
const hosts = new HostStore(join(config, 'dockvisor', 'hosts'));
let registry: RegistryClient;

test.before(async () => {
  rmSync(files, { recursive: true, force: true });
  mkdirSync(files, { recursive: true });
  await datastore.start();
  registry = new RegistryClient({ address: registryAddress, tls: false });
});

test.after.always(async () => {
  await registry?.close();
  await datastore.stop();
  rmSync(files, { recursive: true, force: true });
  rmSync(config, { recursive: true, force: true });
});

/** Refused: exit 1, one line on stderr, nothing on stdout. */
function refused(t: ExecutionContext, result: { code: number | null; stdout: string; stderr: string }, what: string): void {
  t.is(result.code, 1, `${what}: ${result.stderr}`);
  t.is(result.stderr.trim().split('\n').length, 1, `one line for ${what}: ${result.stderr}`);
  t.is(result.stdout, '', what);
}

/** `dockvisor ...` with its own host store; killed after a few seconds, as a hang is what some cases used to do. */
async function dockvisor(args: string[], stdin: 'ignore' | number = 'ignore'): Promise<ActionResult> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), ...args], {
    env: { ...process.env, XDG_CONFIG_HOME: config },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
  try {
    return await collect(child);
  } finally {
    clearTimeout(timer);
  }
}

async function datablock(imageId: number, size: number): Promise<string> {
  const made = await runDs('mkfs', { imageId, registry: registryAddress, size, fs: 'ext4' });
  if (made.code !== 0) throw new Error(`mkfs ${imageId} failed: ${made.stderr}`);
  return made.stdout.trim();
}

test.serial('export and clone of an image whose repository is gone fail with one line naming the image', async (t) => {
  const source = await datablock(8201, 16);
  const kept = await runDs('export', { imageId: 8201, registry: registryAddress, source, size: 16 });
  t.is(kept.code, 0, kept.stderr);
  t.true(kept.stdout.includes(`<IMPORT_SOURCE><![CDATA[${source}]]></IMPORT_SOURCE>`));
  t.is((await runDs('rm', { imageId: 8201, registry: registryAddress, source })).code, 0);

  const exported = await runDs('export', { imageId: 8201, registry: registryAddress, source, size: 16 });
  refused(t, exported, 'export of a removed image');
  t.regex(exported.stderr, /dockvisor\/image-8201 is no longer in registry 127\.0\.0\.1:5441/);

  const cloned = await runDs('clone', { imageId: 8202, registry: registryAddress, path: source });
  refused(t, cloned, 'clone of a removed image');
  t.regex(cloned.stderr, /dockvisor\/image-8201 is no longer in registry 127\.0\.0\.1:5441/);
  t.is(repositoryLinks(datastore, 'dockvisor/image-8202'), 0, 'nothing stored for the clone');
});

test.serial('export pins what was registered when the current tag is gone but the registered content is still there', async (t) => {
  const registered = await datablock(8203, 16);
  const saved = await datablock(8203, 32);
  await registry.deleteManifest('dockvisor/image-8203', saved.split('@')[1]!);
  const exported = await runDs('export', { imageId: 8203, registry: registryAddress, source: registered, size: 16 });
  t.is(exported.code, 0, exported.stderr);
  t.true(exported.stdout.includes(`<IMPORT_SOURCE><![CDATA[${registered}]]></IMPORT_SOURCE>`), exported.stdout);
});

test.serial('stat and cp of a local path that is a directory or a fifo refuse it with one line naming the path', async (t) => {
  const directory = join(files, 'a-directory');
  const fifo = join(files, 'a-fifo');
  mkdirSync(directory);
  execFileSync('mkfifo', [fifo]);
  for (const [index, path] of [directory, fifo].entries()) {
    for (const action of ['stat', 'cp']) {
      const imageId = 8210 + index;
      const result = await runDs(action, { imageId, registry: registryAddress, path });
      refused(t, result, `${action} ${path}`);
      t.true(result.stderr.includes(`PATH ${path} is not a file but a ${index === 0 ? 'directory' : 'fifo'}`), result.stderr);
      t.is(repositoryLinks(datastore, `dockvisor/image-${imageId}`), 0, `nothing stored by ${action} ${path}`);
    }
  }
});

test.serial(
  'host import reads at most a small bundle, from a file or stdin: a device, a fifo, a directory, a big file or endless stdin are refused, nothing recorded',
  async (t) => {
    const fifo = join(config, 'bundle-fifo');
    const directory = join(config, 'bundle-dir');
    const big = join(config, 'big.json');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(directory);
    writeFileSync(big, `{"format":"dockvisor-host/1","padding":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    for (const [file, expected] of [
      ['/dev/zero', /\/dev\/zero is not a file but a device/],
      [fifo, /bundle-fifo is not a file but a fifo/],
      [directory, /bundle-dir is not a file but a directory/],
      [big, /big\.json is larger than 1 MiB/],
    ] as const) {
      const result = await dockvisor(['host', 'import', file]);
      refused(t, result, `import ${file}`);
      t.regex(result.stderr, expected);
    }
    const zero = openSync('/dev/zero', 'r');
    try {
      const result = await dockvisor(['host', 'import', '-'], zero);
      refused(t, result, 'import - from /dev/zero');
      t.regex(result.stderr, /stdin is larger than 1048576 bytes/);
    } finally {
      closeSync(zero);
    }
    t.deepEqual(hosts.list(), []);

    const bundle = join(config, 'wa1.json');
    writeFileSync(
      bundle,
      JSON.stringify({
        format: 'dockvisor-host/1',
        host: { name: 'wa1', ssh: { user: 'root', address: '198.18.150.10', port: 22, hostKey: 'ssh-ed25519 AAAA' }, steps: {} },
      }),
    );
    t.is((await dockvisor(['host', 'import', bundle])).code, 0, 'a bundle file is imported');
    const fromStdin = openSync(bundle, 'r');
    try {
      const result = await dockvisor(['host', 'import', '-', '--name', 'wa2'], fromStdin);
      t.is(result.code, 0, result.stderr);
    } finally {
      closeSync(fromStdin);
    }
    t.deepEqual(
      hosts.list().map((record) => record.name),
      ['wa1', 'wa2'],
    );
  },
);

test.serial('host numeric flags take whole numbers only: refused before anything is recorded or any SSH connection is opened', async (t) => {
  let connections = 0;
  const sshd = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => sshd.listen(0, '127.0.0.1', resolve));
  const key = join(config, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const ssh = [`--ssh=root@127.0.0.1:${(sshd.address() as AddressInfo).port}`, `--identity=${key}`];
  const before = hosts.list().map((record) => record.name);
  try {
    const attempts: [string[], RegExp][] = [
      ...['abc', '1.5', '-2', '1e3', '0x10', '4294967296', ''].map((cluster): [string[], RegExp] => [
        ['host', 'create', 'wa3', ...ssh, `--cluster=${cluster}`],
        /--cluster/,
      ]),
      [['host', 'create', 'wa3', ...ssh, '--cluster'], /--cluster/],
      [['host', 'create', 'wa3', ...ssh, '--cluster', '1', '--cluster', '2'], /--cluster is given more than once/],
      ...['abc', '-5', '0', '1e12'].map((timeout): [string[], RegExp] => [['host', 'ls', '--timeout', timeout], /--timeout/]),
      [['host', 'ls', '--timeout'], /--timeout/],
      [['host', 'status', 'wa1', '--timeout', 'soon'], /--timeout/],
    ];
    for (const [args, expected] of attempts) {
      const result = await dockvisor(args);
      refused(t, result, args.join(' '));
      t.regex(result.stderr, expected, args.join(' '));
    }
    t.is(connections, 0, 'no SSH connection was opened');
    t.deepEqual(
      hosts.list().map((record) => record.name),
      before,
      'nothing recorded',
    );

    const badBundle = join(config, 'wa5.json');
    writeFileSync(
      badBundle,
      JSON.stringify({
        format: 'dockvisor-host/1',
        host: {
          name: 'wa5',
          ssh: { user: 'root', address: '198.18.150.11', port: 22, hostKey: 'ssh-ed25519 AAAA' },
          steps: {},
          opennebula: { hostName: 'wa5', clusterId: -5 },
        },
      }),
    );
    refused(t, await dockvisor(['host', 'import', badBundle]), 'a bundle with cluster -5');
    t.deepEqual(
      hosts.list().map((record) => record.name),
      before,
      'nothing imported',
    );

    const created = await dockvisor(['host', 'create', 'wa4', ...ssh, '--cluster', '7']);
    t.is(created.code, 1, 'the SSH step fails against a server that hangs up');
    t.is(connections, 1, 'a whole cluster id goes on to the SSH connection');
    t.is(hosts.get('wa4').opennebula?.clusterId, 7);
  } finally {
    sshd.close();
  }
});
