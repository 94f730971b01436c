import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import { tarArchive } from '../drivers/core/tar-archive.ts';
import { RegistryClient } from '../drivers/images/registry/registry-client.ts';
import { engineArchitecture } from '../drivers/images/registry/single-image.ts';
import { buildMarkedImage, dsMessage, exportRootfs, runDs, saveImage, serveFiles, TARBALL_DIR } from './helpers/datastore.ts';
import { ENGINE_SOCKET, recorded, repoRoot } from './helpers/paths.ts';
import { collect } from './helpers/vmm.ts';
import { repositoryLinks, TestRegistry } from './helpers/registry.ts';

// Registering images in a datastore registry: from another registry, a tarball on disk and a URL; and refusals.
const datastore = new TestRegistry('ds-images', 5403);
const upstream = new TestRegistry('ds-upstream', 5401);
const files = join(TARBALL_DIR, 'images');
const engine = new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET });
const dsRemotes = join(repoRoot, 'remotes/datastore/dockvisor');
const upstreamRepo = `${upstream.address}/dvt/marked`;
const uniqueRepo = `${upstream.address}/dvt/unique`;
const SOURCE = /^docker:\/\/127\.0\.0\.1:5403\/dockvisor\/image-(\d+)@sha256:[a-f0-9]{64} docker\n$/;
let http: Server;
let liar: Server;
let registry: RegistryClient;
let multiPlatformDigest = '';

test.before(async () => {
  rmSync(files, { recursive: true, force: true });
  mkdirSync(files, { recursive: true });
  await datastore.start();
  await upstream.start();
  registry = new RegistryClient({ address: datastore.address, tls: false });
  await buildMarkedImage(engine, upstreamRepo, '1', 'from-upstream');
  await engine.pushImage(upstreamRepo, '1', 60_000);
  await engine.tagImage(`${upstreamRepo}:1`, `${upstream.address}/dvt/multi`, '1');
  await engine.pushImage(`${upstream.address}/dvt/multi`, '1', 60_000);
  await engine.removeImage(`${upstream.address}/dvt/multi:1`);
  const upstreamClient = new RegistryClient({ address: upstream.address, tls: false });
  multiPlatformDigest = (await upstreamClient.getManifest('dvt/multi', '1')).digest;
  await upstreamClient.close();
  await buildMarkedImage(engine, uniqueRepo, '1', 'unique', 3_000_000);
  await engine.pushImage(uniqueRepo, '1', 60_000);
  saveImage(`${upstreamRepo}:1`, join(files, 'saved.tar'));
  await exportRootfs(engine, `${upstreamRepo}:1`, join(files, 'rootfs.tar.gz'));
  writeFileSync(join(files, 'oci-layout.tar'), await ociLayout(upstream.address, 'dvt/marked', '1'));
  http = await serveFiles(files, 5402);
  liar = await lyingRegistry(5407);
});

test.after.always(async () => {
  await registry?.close();
  await new Promise((resolve) => http?.close(resolve));
  await new Promise((resolve) => liar?.close(resolve));
  await engine.removeImage(`${upstreamRepo}:1`).catch(() => undefined);
  await engine.removeImage(`${uniqueRepo}:1`).catch(() => undefined);
  await engine.close();
  await datastore.stop();
  await upstream.stop();
  rmSync(files, { recursive: true, force: true });
});

const registryAddress = datastore.address;

async function registered(imageId: number, path: string): Promise<string> {
  const result = await runDs('cp', { imageId, registry: registryAddress, path });
  if (result.code !== 0) throw new Error(`cp ${path} failed: ${result.stderr}`);
  return result.stdout;
}

async function markerOf(source: string): Promise<string> {
  const reference = source.split(' ')[0]!.slice('docker://'.length);
  await engine.pullImage(reference, 60_000);
  try {
    return execFileSync('docker', ['run', '--rm', '--network', 'none', reference, 'cat', '/marker'], { encoding: 'utf8' }).trim();
  } finally {
    await engine.removeImage(reference).catch(() => undefined);
  }
}

test.serial(
  'an image from another registry, a docker save tarball, a root filesystem tarball, an OCI layout and a URL are each stored pinned by digest',
  async (t) => {
    const cases: [number, string][] = [
      [9801, `docker://${upstreamRepo}:1`],
      [9802, `/var/lib/one/docker://${upstreamRepo}:1`],
      [9803, join(files, 'saved.tar')],
      [9804, join(files, 'rootfs.tar.gz')],
      [9810, join(files, 'oci-layout.tar')],
      [9805, 'http://127.0.0.1:5402/saved.tar'],
    ];
    for (const [imageId, path] of cases) {
      const output = await registered(imageId, path);
      t.regex(output, SOURCE, path);
      t.is(SOURCE.exec(output)![1], String(imageId));
      t.is(await markerOf(output), 'from-upstream', `the image registered from ${path} has the upstream content`);
    }
  },
);

test.serial("from a multi-platform image, the variant of this machine's platform is stored", async (t) => {
  const output = await registered(9811, 'docker://127.0.0.1:5407/dvt/multi:1');
  t.true(output.includes(`@${multiPlatformDigest} `), output);
  t.is(await markerOf(output), 'from-upstream');
});

test.serial('stat gives the size in MB before anything is copied', async (t) => {
  for (const path of [`docker://${upstreamRepo}:1`, join(files, 'saved.tar'), 'http://127.0.0.1:5402/saved.tar']) {
    const result = await runDs('stat', { imageId: 9806, registry: registryAddress, path });
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /^[1-9][0-9]*\n$/);
  }
  t.deepEqual(await registry.listTags('dockvisor/image-9806'), []);
});

test.serial('clone shares the blobs, mkfs makes an empty datablock, rm deletes and frees space, export describes the image', async (t) => {
  const before = await usedMb();
  const bytesBefore = datastore.storedBytes();
  const source = (await registered(9807, `docker://${uniqueRepo}:1`)).split(' ')[0]!;
  const clone = await runDs('clone', { imageId: 9808, registry: registryAddress, path: source });
  t.is(clone.code, 0, clone.stderr);
  t.regex(clone.stdout, /image-9808@sha256:/);
  t.is(await markerOf(clone.stdout), 'unique');

  const datablock = await runDs('mkfs', { imageId: 9809, registry: registryAddress, size: 64, fs: 'ext4' });
  t.is(datablock.code, 0, datablock.stderr);
  t.regex(datablock.stdout, /^docker:\/\/127\.0\.0\.1:5403\/dockvisor\/image-9809@sha256:[a-f0-9]{64}\n$/);

  const exported = await runDs('export', { imageId: 9807, registry: registryAddress, source, size: 5 });
  t.is(exported.code, 0, exported.stderr);
  t.true(exported.stdout.includes(`<IMPORT_SOURCE><![CDATA[${source}]]></IMPORT_SOURCE>`));

  const during = await usedMb();
  t.true(during >= before + 2, `the unique image counts in USED_MB (${before} -> ${during})`);
  for (const [imageId, src] of [
    [9807, source],
    [9808, clone.stdout.split(' ')[0]!],
  ] as const) {
    const removed = await runDs('rm', { imageId, registry: registryAddress, source: src });
    t.is(removed.code, 0, removed.stderr);
    t.deepEqual(await registry.listTags(`dockvisor/image-${imageId}`), []);
    t.is(repositoryLinks(datastore, `dockvisor/image-${imageId}`), 0);
  }
  t.is((await runDs('rm', { imageId: 9807, registry: registryAddress, source })).code, 0, 'a second rm succeeds');
  t.is(await usedMb(), before, 'USED_MB is back where it was');
  execFileSync('/usr/bin/docker-registry', ['garbage-collect', join(datastore.storage, '../config.yml')], { stdio: 'ignore' });
  t.true(datastore.storedBytes() - bytesBefore < 1_000_000, "the registry's garbage collection frees the disk space");
});

test.serial('bad input gets one clear line, a non-zero exit and leaves nothing in the registry', async (t) => {
  const traversal = join(files, 'traversal.tar');
  writeFileSync(
    traversal,
    tarArchive([
      { name: 'etc/ok', content: Buffer.from('ok') },
      { name: '../../escape', content: Buffer.from('x') },
    ]),
  );
  const truncated = join(files, 'truncated.tar');
  writeFileSync(truncated, readFileSync(join(files, 'saved.tar')).subarray(0, 200_000));
  const cases: [string, RegExp][] = [
    ['ftp://127.0.0.1/image.tar', /scheme dockvisor does not know/],
    ['docker://127.0.0.1:5408/dvt/nothing:1', /cannot reach registry 127\.0\.0\.1:5408/],
    ['docker://127.0.0.1:5407/dvt/liar:1', /says the manifest is sha256:[a-f0-9]+ but its content is/],
    ['docker://127.0.0.1:5407/dvt/tampered:1', /DIGEST_INVALID/],
    [truncated, /truncated/],
    [traversal, /leaves the archive's root/],
    ['docker://alpine;touch /tmp/dvt-pwned', /is not a valid repository name/],
    ['docker://127.0.0.1:5401/../../etc/passwd', /is not a valid repository name/],
    ['/etc/shadow', /restricted directory/],
    [`${TARBALL_DIR}/../../../etc/shadow`, /restricted directory/],
    ['http://127.0.0.1:5402/missing.tar', /answered 404/],
  ];
  for (const [index, [path, expected]] of cases.entries()) {
    const imageId = 9820 + index;
    const result = await runDs('cp', { imageId, registry: registryAddress, path });
    t.is(result.code, 1, path);
    t.regex(result.stderr, expected, path);
    t.is(result.stderr.trim().split('\n').length, 1, `one line for ${path}`);
    t.is(result.stdout, '');
    t.is(repositoryLinks(datastore, `dockvisor/image-${imageId}`), 0, `nothing stored for ${path}`);
  }
  t.false(existsQuiet('/tmp/dvt-pwned'));
  const unsupported = await runDs('snap_flatten', { imageId: 9830, registry: registryAddress });
  t.is(unsupported.code, 1);
  t.is(unsupported.stderr, 'snap_flatten: not supported by dockvisor\n');
});

test.serial(
  "a registry asking for a token is answered: anonymously to pull, with the datastore's credentials to push; a refusal never shows them",
  async (t) => {
    const pulled = await registered(9831, 'docker://127.0.0.1:5407/dvt/marked:1');
    t.is(await markerOf(pulled), 'from-upstream', 'copied through anonymous token authentication');

    const credentials = join(files, 'credentials');
    writeFileSync(credentials, `${CREDENTIALS.username}:${CREDENTIALS.password}\n`, { mode: 0o600 });
    const behindTokens = { imageId: 9832, registry: '127.0.0.1:5407', credentials, path: `docker://${upstreamRepo}:1` };
    const pushed = await runDs('cp', behindTokens);
    t.is(pushed.code, 0, pushed.stderr);
    t.regex(pushed.stdout, /^docker:\/\/127\.0\.0\.1:5407\/dockvisor\/image-9832@sha256:/);
    t.deepEqual(await new RegistryClient({ address: upstream.address, tls: false }).listTags('dockvisor/image-9832'), ['current']);

    writeFileSync(credentials, `${CREDENTIALS.username}:wrong-${CREDENTIALS.password}\n`, { mode: 0o600 });
    const refused = await runDs('cp', { ...behindTokens, imageId: 9833 });
    t.is(refused.code, 1);
    t.regex(refused.stderr, /token service 127\.0\.0\.1:5407 refused \(401\); check REGISTRY_CREDENTIALS/);
    t.false(refused.stderr.includes(CREDENTIALS.password), 'the password is in no message');
    t.false(refused.stderr.includes(Buffer.from(`${CREDENTIALS.username}:wrong-${CREDENTIALS.password}`).toString('base64')));
  },
);

test.serial('the recorded cp, stat and monitor messages are read as oned sends them', async (t) => {
  for (const action of ['stat', 'cp', 'monitor']) {
    const message = readFileSync(join(recorded, `ds-${action}.stdin.b64`), 'utf8');
    const child = spawn(join(dsRemotes, action), ['0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.end(message);
    const result = await collect(child);
    // The recorded datastore template names no REGISTRY: every action says so, and nothing else.
    t.is(result.code, 1, action);
    t.regex(result.stderr, /REGISTRY = "host:port" is missing from the datastore template/);
  }
});

test.serial('up to OpenNebula 6.6 the message comes as the first argument and the id as the second', async (t) => {
  const message = dsMessage({ imageId: 9834, registry: registryAddress, path: `docker://${upstreamRepo}:1` });
  const child = spawn(join(dsRemotes, 'stat'), [message, '9834'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await collect(child);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^[1-9][0-9]*\n$/);
});

async function usedMb(): Promise<number> {
  const result = await runDs('monitor', { imageId: 101, registry: registryAddress });
  return Number(/USED_MB=(\d+)/.exec(result.stdout)?.[1] ?? NaN);
}

function existsQuiet(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

/** An OCI image layout tarball of an image, made from its manifest and blobs in a registry. */
async function ociLayout(address: string, repository: string, tag: string): Promise<Buffer> {
  const source = new RegistryClient({ address, tls: false });
  try {
    const manifest = await source.getManifest(repository, tag);
    const image = JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const blob = (digest: string, content: Buffer) => ({ name: `blobs/sha256/${digest.slice(7)}`, content });
    const blobs = [blob(manifest.digest, manifest.body)];
    for (const { digest } of [image.config, ...image.layers]) blobs.push(blob(digest, await source.readBlob(repository, digest, 64 * 1024 * 1024)));
    const index = { schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.body.length }] };
    return tarArchive([
      { name: 'oci-layout', content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'index.json', content: Buffer.from(JSON.stringify(index)) },
      { name: 'blobs', directory: true },
      { name: 'blobs/sha256', directory: true },
      ...blobs,
    ]);
  } finally {
    await source.close();
  }
}

const CREDENTIALS = { username: 'dvt-user', password: 's3cret-Pass-9' };

/**
 * On one loopback port: a registry that claims a digest its manifest does not have (repository dvt/liar),
 * and in front of the upstream registry, token authentication as Docker Hub does it: anonymous tokens pull,
 * tokens got with the right Basic credentials also push.
 */
function lyingRegistry(port: number): Promise<Server> {
  const origin = `http://127.0.0.1:${port}`;
  const server = createServer((request, response) => {
    const url = request.url ?? '/';
    if (url.startsWith('/token')) {
      const basic = request.headers.authorization;
      const expected = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString('base64')}`;
      if (basic && basic !== expected) return void response.writeHead(401).end('{"details":"bad credentials"}');
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: basic ? 'push-token' : 'pull-token' }));
    }
    if (url.startsWith('/v2/dvt/liar/manifests/')) {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { digest: `sha256:${'0'.repeat(64)}`, size: 2 },
        layers: [],
      });
      return void response
        .writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'docker-content-digest': `sha256:${'1'.repeat(64)}` })
        .end(body);
    }
    if (url === '/v2/dvt/multi/manifests/1' && request.headers.authorization) {
      const entry = (architecture: string, digest: string) => ({
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest,
        size: 1,
        platform: { architecture, os: 'linux' },
      });
      const other = engineArchitecture() === 'arm64' ? 'amd64' : 'arm64';
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [entry(other, `sha256:${'2'.repeat(64)}`), entry(engineArchitecture(), multiPlatformDigest)],
      });
      return void response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(request.method === 'HEAD' ? undefined : body);
    }
    if (url.startsWith('/v2/dvt/tampered/manifests/')) {
      const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
          size: config.length,
        },
        layers: [],
      });
      return void response.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }).end(body);
    }
    if (url.startsWith('/v2/dvt/tampered/blobs/')) return void response.writeHead(200, { 'content-type': 'application/octet-stream' }).end('{"tampered":true}');
    const reading = request.method === 'GET' || request.method === 'HEAD';
    const token = request.headers.authorization;
    if (token !== 'Bearer push-token' && !(reading && token === 'Bearer pull-token')) {
      const repository = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(url)?.[1] ?? '';
      return void response
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${origin}/token",service="dvt",scope="repository:${repository}:${reading ? 'pull' : 'pull,push'}"`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    const headers = { ...request.headers, host: upstream.address };
    delete headers.authorization;
    const forwarded = httpRequest({ host: '127.0.0.1', port: upstream.port, method: request.method, path: url, headers }, (answer) => {
      const location = answer.headers.location?.replace(`http://${upstream.address}`, origin);
      response.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...(location ? { location } : {}) });
      answer.pipe(response);
    });
    forwarded.on('error', () => response.writeHead(502).end());
    request.pipe(forwarded);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
