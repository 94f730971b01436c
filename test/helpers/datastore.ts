import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createReadStream, statSync } from 'node:fs';
import type { EngineClient } from '../../drivers/engine/engine-client.ts';
import { writeFileAtomically } from '../../drivers/core/atomic-file.ts';
import { BASE_IMAGE, ENGINE_SOCKET, ensureStateDir, repoRoot, stateDir } from './paths.ts';
import type { TestHost } from './test-host.ts';
import { collect, type ActionResult } from './vmm.ts';

const dsRemotes = join(repoRoot, 'remotes/datastore/dockvisor');
const tmRemotes = join(repoRoot, 'remotes/tm/dockvisor');

/** Where tests keep tarballs: a directory the test datastores list in SAFE_DIRS. */
export const TARBALL_DIR = '/var/tmp/dvt-ds';

export interface DsDraft {
  imageId: number;
  registry: string;
  path?: string;
  source?: string;
  size?: number;
  fs?: string;
  /** REGISTRY_CREDENTIALS of the datastore template. */
  credentials?: string;
}

/** The base64 DS_DRIVER_ACTION_DATA oned sends, shaped as in the recorded ds-cp call. */
export function dsMessage(draft: DsDraft): string {
  const cdata = (v: string | undefined) => (v === undefined ? '' : `<![CDATA[${v}]]>`);
  const xml =
    `<DS_DRIVER_ACTION_DATA><IMAGE><ID>${draft.imageId}</ID><NAME>dvt-image-${draft.imageId}</NAME><TYPE>0</TYPE><PERSISTENT>0</PERSISTENT>` +
    `<SOURCE>${cdata(draft.source)}</SOURCE><PATH>${cdata(draft.path)}</PATH><FORMAT></FORMAT><FS>${cdata(draft.fs)}</FS><SIZE>${draft.size ?? 16}</SIZE>` +
    `<DATASTORE_ID>101</DATASTORE_ID></IMAGE><DATASTORE><ID>101</ID><NAME>dvt_images</NAME><DS_MAD>${cdata('dockvisor')}</DS_MAD><TM_MAD>${cdata('dockvisor')}</TM_MAD>` +
    `<TEMPLATE><DS_MAD>${cdata('dockvisor')}</DS_MAD><TM_MAD>${cdata('dockvisor')}</TM_MAD><REGISTRY>${cdata(draft.registry)}</REGISTRY>${draft.credentials ? `<REGISTRY_CREDENTIALS>${cdata(draft.credentials)}</REGISTRY_CREDENTIALS>` : ''}` +
    `<RESTRICTED_DIRS>${cdata('/')}</RESTRICTED_DIRS><SAFE_DIRS>${cdata(TARBALL_DIR)}</SAFE_DIRS></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>`;
  return Buffer.from(xml).toString('base64');
}

/** remotes/datastore/dockvisor/<action> as 6.8+ runs it: the id in argv, the message on stdin. */
export function runDs(action: string, draft: DsDraft): Promise<ActionResult> {
  const child = spawn(join(dsRemotes, action), [String(draft.imageId)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(dsMessage(draft));
  return collect(child);
}

export function runTm(action: string, argv: string[], configPath: string): Promise<ActionResult> {
  const child = spawn(join(tmRemotes, action), argv, { env: { ...process.env, DOCKVISOR_TM_CONFIG: configPath }, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child);
}

/** The front-end's transfer config for the test hosts: each reached over SSH as root with its own key. */
export function tmConfigFor(hosts: TestHost[], name: string, extra: Record<string, unknown> = {}): string {
  const dir = join(ensureStateDir(), `tm-${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const entries: Record<string, unknown> = {};
  for (const host of hosts) {
    const key = join(dir, `${host.name}.key`);
    writeFileSync(key, host.ssh.privateKey, { mode: 0o600 });
    chmodSync(key, 0o600);
    entries[host.name] = {
      address: host.address,
      port: host.ssh.port,
      user: 'root',
      privateKeyPath: key,
      engineSocket: host.engine.socket,
      hostKeySha256: host.ssh.hostKeySha256,
    };
  }
  const path = join(dir, 'dockvisor.conf');
  // The connection keeper of these actions, when a test starts one, is this config's own.
  const connectionKeeper = join(dir, 'keeper.sock');
  writeFileAtomically(path, JSON.stringify({ hosts: entries, engineTimeoutMs: 20_000, pullTimeoutMs: 120_000, connectionKeeper, ...extra }));
  return path;
}

/** An image made here from the base image, with `/marker` holding `marker`: never pulled from the internet. */
export async function buildMarkedImage(engine: EngineClient, repo: string, tag: string, marker: string, randomBytes = 0): Promise<void> {
  const name = `dvt-ds-build-${process.pid}`;
  await engine.removeContainer(name).catch(() => undefined);
  await engine.createContainer(name, {
    Image: BASE_IMAGE,
    Cmd: ['sh', '-c', `echo ${marker} > /marker && head -c ${randomBytes} /dev/urandom > /random`],
    HostConfig: { NetworkMode: 'none' },
  });
  await engine.startContainer(name);
  for (let i = 0; i < 100 && (await engine.inspectContainer(name)).State.Running; i++) await new Promise((r) => setTimeout(r, 50));
  await engine.commitContainer(name, repo, tag, {});
  await engine.removeContainer(name);
}

/** `docker save` of a local image into a file, through the local engine's API. */
export function saveImage(reference: string, file: string): void {
  execFileSync('sh', ['-c', `curl -fsS --unix-socket ${ENGINE_SOCKET} "http://engine/images/${encodeURIComponent(reference)}/get" > '${file}'`]);
}

/** A gzipped root filesystem tarball of a local image (a container export). */
export async function exportRootfs(engine: EngineClient, reference: string, file: string): Promise<void> {
  const name = `dvt-ds-export-${process.pid}`;
  await engine.removeContainer(name).catch(() => undefined);
  await engine.createContainer(name, { Image: reference, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  try {
    execFileSync('sh', ['-c', `curl -fsS --unix-socket ${ENGINE_SOCKET} "http://engine/containers/${name}/export" | gzip > '${file}'`]);
  } finally {
    await engine.removeContainer(name);
  }
}

/** A plain HTTP server on loopback serving the files of one directory. */
export function serveFiles(dir: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const name = (request.url ?? '/').slice(1);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return void response.writeHead(404).end();
    const path = join(dir, name);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return void response.writeHead(404).end();
    }
    response.writeHead(200, { 'content-length': size, 'content-type': 'application/x-tar' });
    if (request.method === 'HEAD') return void response.end();
    createReadStream(path).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Runs a command in a container on an engine, through the docker CLI pointed at that engine's socket. */
export function execIn(socket: string, container: string, ...command: string[]): string {
  return execFileSync('docker', ['-H', `unix://${socket}`, 'exec', container, ...command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
