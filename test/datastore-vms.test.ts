import test from 'ava';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import { RegistryClient } from '../drivers/images/registry/registry-client.ts';
import { buildMarkedImage, execIn, exportRootfs, runDs, runTm, saveImage, serveFiles, TARBALL_DIR, tmConfigFor } from './helpers/datastore.ts';
import { engineLeftovers } from './helpers/datastore-rig.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { ENGINE_SOCKET, stateDir } from './helpers/paths.ts';
import { TestRegistry } from './helpers/registry.ts';
import { startSshd } from './helpers/sshd.ts';
import { TestHost } from './helpers/test-host.ts';
import { actionXml, deployArgv, idArgv, vmXml, type DiskDraft, type VmDraft } from './helpers/vm-xml.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

// VMs on two test hosts from a datastore registry on the front-end's loopback, reached through each host's SSH connection.
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const hosts = {
  a: new TestHost('dvt-da', ids.address(0, 11), bridge, ids.cidr(1, 1), { remoteForwarding: true }),
  b: new TestHost('dvt-db', ids.address(0, 12), bridge, ids.cidr(2, 1), { remoteForwarding: true }),
};
const datastore = new TestRegistry('ds-vms', 5404);
const upstream = new TestRegistry('ds-vms-upstream', 5405);
const files = join(TARBALL_DIR, 'vms');
const local = new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET });
const upstreamRepo = `${upstream.address}/dvt/vm-base`;
const sources: Record<string, string> = {};
let http: Server;
let tmConfig: string;
let registry: RegistryClient;

const sysDir = (vid: number) => `/var/lib/one//datastores/100/${vid}`;
const diskPath = (host: TestHost, vid: number, disk: number) => `${host.name}:${sysDir(vid)}/disk.${disk}`;

test.before(async () => {
  rmSync(files, { recursive: true, force: true });
  mkdirSync(files, { recursive: true });
  createBridge(bridge, ids.cidr(0, 1));
  await Promise.all([hosts.a.start(), hosts.b.start(), datastore.start(), upstream.start()]);
  tmConfig = tmConfigFor([hosts.a, hosts.b], 'ds-vms');
  registry = new RegistryClient({ address: datastore.address, tls: false });
  await buildMarkedImage(local, upstreamRepo, '1', 'booted');
  await local.pushImage(upstreamRepo, '1', 60_000);
  saveImage(`${upstreamRepo}:1`, join(files, 'saved.tar'));
  await exportRootfs(local, `${upstreamRepo}:1`, join(files, 'rootfs.tar.gz'));
  http = await serveFiles(files, 5406);
  const paths: [string, number, string][] = [
    ['registry', 9840, `docker://${upstreamRepo}:1`],
    ['tarball', 9841, join(files, 'rootfs.tar.gz')],
    ['url', 9842, 'http://127.0.0.1:5406/saved.tar'],
    ['persistent', 9843, `docker://${upstreamRepo}:1`],
  ];
  for (const [name, imageId, path] of paths) {
    const result = await runDs('cp', { imageId, registry: datastore.address, path });
    if (result.code !== 0) throw new Error(`cp ${path}: ${result.stderr}`);
    sources[name] = result.stdout.split(' ')[0]!;
  }
});

test.after.always(async () => {
  await registry?.close();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await local.removeImage(`${upstreamRepo}:1`).catch(() => undefined);
  await local.close();
  const results = await Promise.allSettled([hosts.a.stop(), hosts.b.stop(), datastore.stop(), upstream.stop()]);
  deleteBridge(bridge);
  rmSync(files, { recursive: true, force: true });
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

function vm(vid: number, source: string, extraDisks: DiskDraft[] = [], lcmState?: number): VmDraft {
  return {
    id: vid,
    lcmState,
    systemTm: 'dockvisor',
    dockvisor: { CMD: 'sleep infinity' },
    context: { DVT_CONTEXT: `vm-${vid}` },
    disks: [{ diskId: 0, source, tmMad: 'dockvisor', imageId: 1 }, ...extraDisks],
  };
}

const vmmConfig = (host: TestHost) => testConfigPath({ engineSocket: host.engine.socket }, `ds-vms-${host.name}.json`);

async function tm(action: string, ...argv: string[]): Promise<void> {
  const result = await runTm(action, argv, tmConfig);
  if (result.code !== 0) throw new Error(`tm ${action} ${argv.join(' ')}: ${result.stderr}`);
}

/** What oned runs to boot a VM: the disk transfer, the context, then deploy on the host. */
async function boot(host: TestHost, draft: VmDraft, transfer: 'clone' | 'ln' = 'clone'): Promise<void> {
  await tm(transfer, draft.disks![0]!.source!, diskPath(host, draft.id, 0), String(draft.id), '101');
  await context(host, draft.id);
  const deployed = await runAction('deploy', deployArgv(draft.id), vmXml(draft), vmmConfig(host));
  if (deployed.code !== 0) throw new Error(`deploy VM ${draft.id}: ${deployed.stderr}`);
}

async function context(host: TestHost, vid: number): Promise<void> {
  const script = join(stateDir, `ds-vms-context-${vid}.sh`);
  writeFileSync(script, `DVT_CONTEXT='vm-${vid}'\n`);
  await tm('context', script, diskPath(host, vid, 1), String(vid), '100');
}

async function stop(host: TestHost, draft: VmDraft, lcmState: number): Promise<void> {
  const result = await runAction('shutdown', idArgv(draft.id), actionXml({ ...draft, lcmState }), vmmConfig(host));
  if (result.code !== 0) throw new Error(`shutdown VM ${draft.id}: ${result.stderr}`);
}

/** Terminate as oned does it: shutdown (LCM_STATE 12), then the transfer's delete of the disk and of the directory. */
async function terminate(host: TestHost, draft: VmDraft, saveTo?: string): Promise<void> {
  await stop(host, draft, 12);
  if (saveTo) await tm('mvds', diskPath(host, draft.id, 0), saveTo, String(draft.id), '101');
  await tm('delete', diskPath(host, draft.id, 0), String(draft.id), '101');
  await tm('delete', `${host.name}:${sysDir(draft.id)}`, String(draft.id), '100');
}

const leftovers = engineLeftovers;

test.serial('a VM boots from an image of each origin, sees its context read-only at /context, and terminate leaves nothing on the host', async (t) => {
  for (const [index, origin] of ['registry', 'tarball', 'url'].entries()) {
    const vid = 9860 + index;
    const draft = vm(vid, sources[origin]!);
    await boot(hosts.a, draft);
    t.is(execIn(hosts.a.engine.socket, `one-${vid}`, 'cat', '/marker').trim(), 'booted', origin);
    t.is(execIn(hosts.a.engine.socket, `one-${vid}`, 'cat', '/context/ds-vms-context-' + vid + '.sh').trim(), `DVT_CONTEXT='vm-${vid}'`);
    t.throws(() => execIn(hosts.a.engine.socket, `one-${vid}`, 'touch', '/context/x'), undefined, 'the context is read-only');
    await terminate(hosts.a, draft);
    t.deepEqual(await leftovers(hosts.a, vid), [], origin);
  }
});

test.serial('transfers to one host at the same time share the registry port on its loopback one after the other', async (t) => {
  const vids = [9875, 9876, 9877];
  const results = await Promise.all(vids.map((vid) => runTm('clone', [sources.tarball!, diskPath(hosts.b, vid, 0), String(vid), '101'], tmConfig)));
  for (const result of results) t.is(result.code, 0, result.stderr);
  for (const vid of vids) await tm('delete', `${hosts.b.name}:${sysDir(vid)}`, String(vid), '100');
  for (const vid of vids) t.deepEqual(await leftovers(hosts.b, vid), []);
});

test.serial("terminating a VM that never reached the VMM again (suspended, undeployed) removes it in the transfer's delete", async (t) => {
  const draft = vm(9863, sources.registry!);
  await boot(hosts.b, draft);
  await tm('delete', diskPath(hosts.b, 9863, 0), '9863', '101');
  await tm('delete', `${hosts.b.name}:${sysDir(9863)}`, '9863', '100');
  t.deepEqual(await leftovers(hosts.b, 9863), []);
});

test.serial('a persistent image keeps what its VM wrote after terminate, and another VM on another host boots with it', async (t) => {
  const first = vm(9864, sources.persistent!);
  await boot(hosts.a, first, 'ln');
  execIn(hosts.a.engine.socket, 'one-9864', 'sh', '-c', 'echo kept > /written');
  await stop(hosts.a, first, 12);
  const engineA = hosts.a.engine.client();
  t.teardown(() => engineA.close());
  t.truthy(await engineA.findContainer('one-9864'), 'terminate leaves the stopped container for the save');
  await tm('mvds', diskPath(hosts.a, 9864, 0), sources.persistent!, '9864', '101');
  await tm('delete', diskPath(hosts.a, 9864, 0), '9864', '101');
  await tm('delete', `${hosts.a.name}:${sysDir(9864)}`, '9864', '100');
  t.deepEqual(await leftovers(hosts.a, 9864), []);

  const second = vm(9865, sources.persistent!);
  await boot(hosts.b, second, 'ln');
  t.is(execIn(hosts.b.engine.socket, 'one-9865', 'cat', '/written').trim(), 'kept');
  await terminate(hosts.b, second, sources.persistent);
});

test.serial('save-as makes a new image that boots with the data, and the original image is unchanged', async (t) => {
  const draft = vm(9866, sources.registry!);
  await boot(hosts.a, draft);
  execIn(hosts.a.engine.socket, 'one-9866', 'sh', '-c', 'echo saved-as > /written');
  const made = await runDs('mkfs', { imageId: 9844, registry: datastore.address, size: 0, fs: 'save_as' });
  t.is(made.code, 0, made.stderr);
  const saveAs = made.stdout.trim();
  await tm('cpds', diskPath(hosts.a, 9866, 0), saveAs, '0', '9866', '101');
  await terminate(hosts.a, draft);

  const fromCopy = vm(9867, saveAs);
  await boot(hosts.b, fromCopy);
  t.is(execIn(hosts.b.engine.socket, 'one-9867', 'cat', '/written').trim(), 'saved-as');
  await terminate(hosts.b, fromCopy);
  const fromOriginal = vm(9868, sources.registry!);
  await boot(hosts.b, fromOriginal);
  t.throws(() => execIn(hosts.b.engine.socket, 'one-9868', 'cat', '/written'));
  await terminate(hosts.b, fromOriginal);
});

test.serial('a VM powered off on host A resumes on host B with its filesystem and its volumes (cold migration through the registry)', async (t) => {
  const draft = vm(9869, sources.registry!, [{ diskId: 2, type: 'fs', target: 'sdc' }]);
  await tm('mkimage', '64', 'raw', diskPath(hosts.a, 9869, 2), '9869', '100');
  await boot(hosts.a, draft);
  execIn(hosts.a.engine.socket, 'one-9869', 'sh', '-c', 'echo migrated > /written && echo on-volume > /media/sdc/f');
  await stop(hosts.a, draft, 18);
  await tm('mv', diskPath(hosts.a, 9869, 0), diskPath(hosts.b, 9869, 0), '9869', '101');
  await tm('mv', diskPath(hosts.a, 9869, 1), diskPath(hosts.b, 9869, 1), '9869', '100');
  await tm('mv', diskPath(hosts.a, 9869, 2), diskPath(hosts.b, 9869, 2), '9869', '100');
  await tm('mv', `${hosts.a.name}:${sysDir(9869)}`, `${hosts.b.name}:${sysDir(9869)}`, '9869', '100');
  t.deepEqual(await leftovers(hosts.a, 9869), [], 'nothing of the VM is left on host A');
  await context(hosts.b, 9869);
  const resumed = await runAction('deploy', deployArgv(9869), vmXml({ ...draft, lcmState: 20 }), vmmConfig(hosts.b));
  t.is(resumed.code, 0, resumed.stderr);
  t.is(execIn(hosts.b.engine.socket, 'one-9869', 'cat', '/written', '/media/sdc/f'), 'migrated\non-volume\n');
  t.deepEqual(await registry.listTags('dockvisor/vm-9869'), [], 'the migration image is gone from the registry');
  await terminate(hosts.b, draft);
  t.deepEqual(await leftovers(hosts.b, 9869), []);
});

test.serial('a volatile disk is a volume at /media/<target>; a persistent datablock keeps its data; swap disks are refused', async (t) => {
  const datablock = await runDs('mkfs', { imageId: 9845, registry: datastore.address, size: 32, fs: 'ext4' });
  t.is(datablock.code, 0, datablock.stderr);
  const draft = vm(9870, sources.registry!, [
    { diskId: 2, type: 'fs', target: 'sdc' },
    { diskId: 3, source: datablock.stdout.trim(), tmMad: 'dockvisor', imageId: 9845, target: '/srv/data' },
  ]);
  await tm('mkimage', '64', 'raw', diskPath(hosts.a, 9870, 2), '9870', '100');
  await tm('clone', datablock.stdout.trim(), diskPath(hosts.a, 9870, 3), '9870', '101');
  await boot(hosts.a, draft);
  execIn(hosts.a.engine.socket, 'one-9870', 'sh', '-c', 'echo v > /media/sdc/f && echo d > /srv/data/f');
  t.is(execIn(hosts.a.engine.socket, 'one-9870', 'cat', '/media/sdc/f', '/srv/data/f'), 'v\nd\n');
  await stop(hosts.a, draft, 12);
  await tm('mvds', diskPath(hosts.a, 9870, 3), datablock.stdout.trim(), '9870', '101');
  const reused = vm(9872, sources.registry!, [{ diskId: 1, source: datablock.stdout.trim(), tmMad: 'dockvisor', imageId: 9845, target: '/srv/data' }]);
  await tm('ln', datablock.stdout.trim(), diskPath(hosts.b, 9872, 1), '9872', '101');
  await boot(hosts.b, reused);
  t.is(execIn(hosts.b.engine.socket, 'one-9872', 'cat', '/srv/data/f'), 'd\n', 'a persistent datablock keeps what was written');
  await terminate(hosts.b, reused);
  t.deepEqual(await leftovers(hosts.b, 9872), []);
  const swap = await runTm('mkswap', ['64', diskPath(hosts.a, 9870, 4), '9870', '100'], tmConfig);
  t.is(swap.code, 1);
  t.is(swap.stderr, 'mkswap: not supported by dockvisor\n');
  await terminate(hosts.a, draft);
  t.deepEqual(await leftovers(hosts.a, 9870), []);
});

test.serial('a transfer with a bad SOURCE or host path fails in one line and leaves nothing on the host', async (t) => {
  const missing = sources.registry!.replace(/@sha256:[a-f0-9]{64}$/, `@sha256:${'0'.repeat(64)}`).replace('image-9840', 'image-9899');
  const cases: [string[], RegExp][] = [
    [[missing, diskPath(hosts.a, 9873, 0), '9873', '101'], /not found|manifest unknown|pull failed/i],
    [['/var/lib/one/datastores/101/abc', diskPath(hosts.a, 9873, 0), '9873', '101'], /is not a docker:\/\/ image of a dockvisor datastore/],
    [[sources.registry!, `dvt-da;touch /tmp/dvt-pwned:${sysDir(9873)}/disk.0`, '9873', '101'], /is not <host>:<absolute path>/],
    [[sources.registry!, diskPath(hosts.a, 9873, 0), '98 73', '101'], /VM id "98 73" is not a whole number/],
    [
      [sources.registry!, 'dvt-unknown-host:/var/lib/one/datastores/100/9873/disk.0', '9873', '101'],
      /host dvt-unknown-host: the SSH key \/root\/.ssh\/id_rsa cannot be read|SSH connection to dvt-unknown-host:22 failed/,
    ],
  ];
  for (const [argv, expected] of cases) {
    const result = await runTm('clone', argv, tmConfig);
    t.is(result.code, 1, argv.join(' '));
    t.regex(result.stderr, expected);
    t.is(result.stderr.trim().split('\n').length, 1);
  }
  t.deepEqual(await leftovers(hosts.a, 9873), []);
});

test.serial('a host that is the front-end itself (reached as localhost) pulls from the loopback registry directly', async (t) => {
  const sshd = await startSshd('ds-vms-localhost', { remoteForwarding: true });
  t.teardown(async () => {
    await sshd.stop();
    await local.removeImage(sources.registry!.slice('docker://'.length)).catch(() => undefined);
  });
  const key = join(stateDir, 'ds-vms-localhost.key');
  writeFileSync(key, sshd.privateKey, { mode: 0o600 });
  const config = join(stateDir, 'ds-vms-localhost.conf');
  writeFileSync(
    config,
    JSON.stringify({
      hosts: {
        localhost: { address: '127.0.0.1', port: sshd.port, user: 'root', privateKeyPath: key, engineSocket: ENGINE_SOCKET, hostKeySha256: sshd.hostKeySha256 },
      },
    }),
  );
  const draft = vm(9874, sources.registry!);
  const disk = `localhost:${sysDir(9874)}/disk.0`;
  const localVmm = testConfigPath({ engineSocket: ENGINE_SOCKET }, 'ds-vms-localhost.json');
  const run = async (action: string, ...argv: string[]) => {
    const result = await runTm(action, argv, config);
    t.is(result.code, 0, `${action}: ${result.stderr}`);
  };
  await run('clone', sources.registry!, disk, '9874', '101');
  const deployed = await runAction('deploy', deployArgv(9874), vmXml(draft), localVmm);
  t.is(deployed.code, 0, deployed.stderr);
  t.is(execIn(ENGINE_SOCKET, 'one-9874', 'cat', '/marker').trim(), 'booted');
  await run('delete', disk, '9874', '101');
  await run('delete', `localhost:${sysDir(9874)}`, '9874', '100');
  t.is(await local.findContainer('one-9874'), undefined);
  t.deepEqual(await local.imageTags('dockvisor-disk/one-9874'), []);
});

test.serial('live migration is refused before anything happens', async (t) => {
  const result = await runTm('premigrate', [hosts.a.name, hosts.b.name, sysDir(9871), '9871', '100'], tmConfig);
  t.is(result.code, 1);
  t.regex(result.stderr, /live migration is not supported by dockvisor/);
});
