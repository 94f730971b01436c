import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Engine, ExecState } from './engine.ts';
import { EngineConflictError, EngineError, EngineNotFoundError } from './engine-errors.ts';
import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerPathStat,
  ContainerState,
  ContainerSummary,
  ContainerUpdateBody,
  EngineInfo,
  EngineVersion,
  ImageInspect,
  ImageSummary,
  VolumeSummary,
} from './types.ts';

/** What the engine's processes are to the host: the in-memory host gives each a network namespace and a /proc entry. */
export interface ProcessTable {
  started(pid: number): void;
  ended(pid: number): void;
}

/** A command of the in-memory containers: its arguments and whole input in, its output and exit code out. */
export type MemoryCommand = (args: string[], stdin: Buffer) => Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }>;

interface MemoryContainer {
  id: string;
  name: string;
  body: ContainerCreateBody;
  imageId: string;
  state: ContainerState;
  /** Files written into it (archive uploads), by absolute path. */
  files: Map<string, Buffer>;
  logs: string;
  sizeRw?: number;
}

interface MemoryImage {
  id: string;
  tags: Set<string>;
  digests: Set<string>;
  labels: Record<string, string>;
  config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; Volumes?: string[] };
  /** The image config as `docker save` writes it; a committed or loaded image's id is its sha256, as the engine's is. */
  configBlob?: Buffer;
}

interface MemoryVolume {
  labels: Record<string, string>;
  sizeBytes?: number;
}

const NEVER = '0001-01-01T00:00:00Z';
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * A container engine in memory, the way nova's virt/fake.py is a hypervisor: containers with their states,
 * labels and files, images with tags, volumes, and the registry they are pulled from and pushed to. It keeps
 * the Engine contract (test/engine-contract.test.ts runs the same assertions against it and a real engine),
 * failing with the same typed errors and the same messages as the EngineClient.
 */
export class MemoryEngine implements Engine {
  private readonly containers = new Map<string, MemoryContainer>();
  private readonly images = new Map<string, MemoryImage>();
  private readonly volumes = new Map<string, MemoryVolume>();
  /** Images a pull can fetch, by reference (`repo:tag` or `repo@digest`), and what pushes sent, by `repo:tag`. */
  readonly registry = new Map<string, { labels: Record<string, string>; config?: MemoryImage['config'] }>();
  readonly pushed = new Map<string, string>();
  /** Every call, as `verb target`, for tests that count the work done. */
  readonly calls: string[] = [];
  /** What the containers' commands do, by absolute path: every container has them all. */
  readonly commands = new Map<string, MemoryCommand>();
  private readonly execs = new Map<string, { argv: string[]; state: ExecState }>();
  private nextPid = 1000;
  private serial = 0;

  constructor(private readonly processes?: ProcessTable) {}

  async close(): Promise<void> {}

  async version(): Promise<EngineVersion> {
    return { Version: '27.0.0-memory', ApiVersion: '1.46', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' };
  }

  async info(): Promise<EngineInfo> {
    const running = [...this.containers.values()].filter((c) => c.state.Running).length;
    return {
      ServerVersion: '27.0.0-memory',
      Driver: 'memory',
      DockerRootDir: '/var/lib/docker',
      CgroupDriver: 'systemd',
      CgroupVersion: '2',
      Containers: this.containers.size,
      ContainersRunning: running,
      Name: 'memory-host',
      NCPU: 4,
      MemTotal: 8 * 1024 ** 3,
      Architecture: 'x86_64',
    };
  }

  // --- containers

  async inspectContainer(name: string): Promise<ContainerInspect> {
    this.calls.push(`inspect ${name}`);
    const c = this.container(name);
    return structuredClone({
      Id: c.id,
      Name: `/${c.name}`,
      Image: c.imageId,
      State: c.state,
      Config: { ...c.body, Labels: c.body.Labels ?? {} },
      HostConfig: c.body.HostConfig,
      ResolvConfPath: `/var/lib/docker/containers/${c.id}/resolv.conf`,
      HostnamePath: `/var/lib/docker/containers/${c.id}/hostname`,
      HostsPath: `/var/lib/docker/containers/${c.id}/hosts`,
    });
  }

  async findContainer(name: string): Promise<ContainerInspect | undefined> {
    return this.lookup(name) ? this.inspectContainer(name) : undefined;
  }

  async listContainers(labels: string[], withSizes = false): Promise<ContainerSummary[]> {
    this.calls.push(`list containers`);
    return [...this.containers.values()]
      .filter((c) => matchesLabels(c.body.Labels ?? {}, labels))
      .map((c) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: c.body.Image,
        State: c.state.Status,
        Status: statusText(c.state),
        Labels: { ...(c.body.Labels ?? {}) },
        ...(withSizes && c.sizeRw ? { SizeRw: c.sizeRw } : {}),
      }));
  }

  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    this.calls.push(`create ${name}`);
    if (this.lookup(name)) throw new EngineConflictError(`container ${name}: Conflict. The container name "/${name}" is already in use`);
    const image = this.image(body.Image);
    if (!image) throw new EngineNotFoundError(`container ${name} not found (No such image: ${body.Image})`);
    for (const mount of body.HostConfig.Mounts ?? []) {
      if (!this.volumes.has(mount.Source)) this.volumes.set(mount.Source, { labels: {} });
    }
    const id = this.newId(`container ${name}`);
    this.containers.set(id, {
      id,
      name,
      body: structuredClone(body),
      imageId: image.id,
      state: { Status: 'created', Running: false, Paused: false, Pid: 0, ExitCode: 0, OOMKilled: false, Error: '', StartedAt: NEVER, FinishedAt: NEVER },
      files: new Map(),
      logs: '',
    });
    return id;
  }

  async startContainer(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    const c = this.container(name);
    if (c.state.Paused) throw new EngineConflictError(`container ${name}: cannot start a paused container, try unpause instead`);
    if (c.state.Running) return;
    this.run(c);
  }

  async stopContainer(name: string, _graceSeconds: number): Promise<void> {
    this.calls.push(`stop ${name}`);
    const c = this.container(name);
    if (c.state.Running) this.end(c, 143);
  }

  async restartContainer(name: string, _graceSeconds: number): Promise<void> {
    this.calls.push(`restart ${name}`);
    const c = this.container(name);
    if (c.state.Running) this.end(c, 143);
    this.run(c);
  }

  async killContainer(name: string, _signal = 'SIGKILL'): Promise<void> {
    this.calls.push(`kill ${name}`);
    const c = this.container(name);
    if (!c.state.Running) throw new EngineConflictError(`container ${name}: Cannot kill container: ${c.id}: container ${c.id} is not running`);
    this.end(c, 137);
  }

  async pauseContainer(name: string): Promise<void> {
    this.calls.push(`pause ${name}`);
    const c = this.container(name);
    if (!c.state.Running) throw new EngineConflictError(`container ${name}: container ${c.id} is not running`);
    if (c.state.Paused) throw new EngineConflictError(`container ${name}: container ${c.id} is already paused`);
    c.state = { ...c.state, Status: 'paused', Paused: true };
  }

  async unpauseContainer(name: string): Promise<void> {
    this.calls.push(`unpause ${name}`);
    const c = this.container(name);
    if (!c.state.Paused) throw new EngineError(`container ${name}: engine answered 500: Container ${c.id} is not paused`, 500);
    c.state = { ...c.state, Status: 'running', Paused: false };
  }

  async removeContainer(name: string): Promise<void> {
    this.calls.push(`remove ${name}`);
    const c = this.container(name);
    if (c.state.Running) this.end(c, 137);
    this.containers.delete(c.id);
  }

  async updateContainer(name: string, body: ContainerUpdateBody): Promise<void> {
    this.calls.push(`update ${name}`);
    const c = this.container(name);
    c.body.HostConfig = { ...c.body.HostConfig, ...body };
  }

  async renameContainer(name: string, newName: string): Promise<void> {
    this.calls.push(`rename ${name} ${newName}`);
    const c = this.container(name);
    if (this.lookup(newName)) throw new EngineConflictError(`container name ${newName} is already in use`);
    c.name = newName;
  }

  async commitContainer(name: string, repo: string, tag: string, labels: Record<string, string>): Promise<string> {
    this.calls.push(`commit ${name}`);
    const c = this.container(name);
    const base = this.images.get(c.imageId);
    const config = { ...(base?.config ?? {}) };
    const configBlob = imageConfigBlob(config, labels, this.newId(`image ${repo}:${tag}`));
    const id = `sha256:${hash(configBlob)}`;
    this.untagEverywhere(`${repo}:${tag}`);
    this.images.set(id, { id, tags: new Set([`${repo}:${tag}`]), digests: new Set(), labels: { ...labels }, config, configBlob });
    return id;
  }

  async putArchive(name: string, path: string, tar: Buffer): Promise<void> {
    this.calls.push(`put archive ${name}`);
    const c = this.container(name);
    for (const file of readTar(tar)) c.files.set(joinPath(path, file.path), file.contents);
  }

  async openArchive(name: string, path: string, _timeoutMs: number): Promise<NodeJS.ReadableStream> {
    const c = this.container(name);
    if (!path.startsWith('/')) throw new EngineError(`container ${name}: path ${path} is not absolute`);
    return Readable.from([Buffer.concat([...c.files.entries()].filter(([file]) => file.startsWith(path)).map(([, contents]) => contents))]);
  }

  async pathExists(name: string, path: string): Promise<boolean> {
    const c = this.container(name);
    return c.files.has(path) || this.commands.has(path);
  }

  /** Directories are the parents of the files the container holds; a file is a plain file. */
  async statPath(name: string, path: string): Promise<ContainerPathStat | undefined> {
    const c = this.container(name);
    const base = path.split('/').pop() ?? '';
    if (path === '/' || [...c.files.keys()].some((file) => file.startsWith(`${path}/`))) return { name: base, mode: 2 ** 31 + 0o755, linkTarget: '' };
    return c.files.has(path) ? { name: base, mode: 0o644, linkTarget: '' } : undefined;
  }

  /** Containers the kernel's OOM killer acted in, as the engine's `oom` events would show it. */
  readonly oomKills = new Set<string>();

  async sawOomKill(name: string, _since: string, _until: string): Promise<boolean> {
    return this.oomKills.has(name);
  }

  async createExec(name: string, argv: string[], _withStdin: boolean): Promise<string> {
    this.calls.push(`exec ${name}`);
    const c = this.container(name);
    if (!c.state.Running || c.state.Paused) throw new EngineConflictError(`container ${name}: Container ${c.id} is not running`);
    const id = this.newId(`exec ${name}`);
    this.execs.set(id, { argv, state: { running: false, exitCode: null, pid: 0 } });
    return id;
  }

  async runExec(id: string, stdin: Buffer | undefined, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<void> {
    const exec = this.execs.get(id);
    if (!exec) throw new EngineNotFoundError(`command ${id.slice(0, 12)} not found (No such exec instance: ${id})`);
    const [path = '', ...args] = exec.argv;
    const command = this.commands.get(path);
    if (!command) {
      onOutput(
        'stdout',
        Buffer.from(
          `OCI runtime exec failed: exec failed: unable to start container process: exec: "${path}": executable file not found in $PATH: unknown\r\n`,
        ),
      );
      exec.state = { running: false, exitCode: 126, pid: 0 };
      return;
    }
    exec.state = { running: true, exitCode: null, pid: this.nextPid++ };
    const result = await command(args, stdin ?? Buffer.alloc(0));
    if (result.stdout.length) onOutput('stdout', result.stdout);
    if (result.stderr.length) onOutput('stderr', result.stderr);
    exec.state = { running: false, exitCode: result.exitCode, pid: 0 };
  }

  async inspectExec(id: string): Promise<ExecState> {
    const exec = this.execs.get(id);
    if (!exec) throw new EngineNotFoundError(`command ${id.slice(0, 12)} not found (No such exec instance: ${id})`);
    return { ...exec.state };
  }

  async containerLogs(name: string, tailLines: number): Promise<string> {
    const lines = this.container(name)
      .logs.split(/(?<=\n)/)
      .filter(Boolean);
    return lines.slice(Math.max(0, lines.length - tailLines)).join('');
  }

  // --- images

  async inspectImage(reference: string): Promise<ImageInspect> {
    const image = this.image(reference);
    if (!image) throw new EngineNotFoundError(`image ${reference} not found (No such image: ${reference})`);
    return {
      Id: image.id,
      RepoTags: [...image.tags],
      RepoDigests: [...image.digests],
      Size: 1024,
      Config: {
        Cmd: image.config.Cmd ?? null,
        Entrypoint: image.config.Entrypoint ?? null,
        Env: image.config.Env ?? null,
        Labels: { ...image.labels },
        Volumes: image.config.Volumes ? Object.fromEntries(image.config.Volumes.map((path) => [path, {}])) : null,
      },
    };
  }

  async findImage(reference: string): Promise<ImageInspect | undefined> {
    return this.image(reference) ? this.inspectImage(reference) : undefined;
  }

  async listImages(labels: string[]): Promise<ImageSummary[]> {
    return [...this.images.values()]
      .filter((image) => matchesLabels(image.labels, labels))
      .map((image) => ({ Id: image.id, RepoTags: [...image.tags], Labels: { ...image.labels } }));
  }

  async removeImage(reference: string): Promise<void> {
    this.calls.push(`remove image ${reference}`);
    const image = this.image(reference);
    if (!image) throw new EngineNotFoundError(`image ${reference} not found (No such image: ${reference})`);
    const tag = normalise(reference);
    if (image.tags.has(tag) && image.tags.size > 1) image.tags.delete(tag);
    else this.images.delete(image.id);
  }

  async pullImage(reference: string, _timeoutMs: number, _registryAuth?: string): Promise<void> {
    this.calls.push(`pull ${reference}`);
    const wanted = normalise(reference);
    const source = this.registry.get(wanted);
    if (!source) throw new EngineNotFoundError(`image ${reference} not found (manifest for ${reference} not found: manifest unknown)`);
    const digest = `sha256:${hash(`registry ${wanted}`)}`;
    const repository = wanted.replace(/[:@][^/]*$/, '');
    const existing = this.image(wanted);
    const image = existing ?? {
      id: `sha256:${hash(`image ${wanted}`)}`,
      tags: new Set<string>(),
      digests: new Set<string>(),
      labels: { ...source.labels },
      config: { ...(source.config ?? {}) },
    };
    if (!wanted.includes('@')) image.tags.add(wanted);
    image.digests.add(`${repository}@${digest}`);
    this.images.set(image.id, image);
  }

  async pushImage(repository: string, tag: string, _timeoutMs: number, _registryAuth?: string): Promise<string> {
    this.calls.push(`push ${repository}:${tag}`);
    const image = this.image(`${repository}:${tag}`);
    if (!image) throw new EngineNotFoundError(`image ${repository}:${tag} not found (An image does not exist locally with the tag: ${repository})`);
    const digest = `sha256:${hash(`pushed ${image.id}`)}`;
    image.digests.add(`${repository}@${digest}`);
    this.pushed.set(`${repository}:${tag}`, digest);
    const entry = { labels: { ...image.labels }, config: { ...image.config } };
    this.registry.set(`${repository}:${tag}`, entry);
    this.registry.set(`${repository}@${digest}`, entry);
    return digest;
  }

  /** A `docker save` archive of the image: manifest.json and its config (the in-memory image has no layers). */
  async saveImage(reference: string, _timeoutMs: number): Promise<NodeJS.ReadableStream> {
    this.calls.push(`save ${reference}`);
    const image = this.image(reference);
    if (!image) throw new EngineNotFoundError(`image ${reference} not found (reference does not exist)`);
    const config = image.configBlob ?? imageConfigBlob(image.config, image.labels, image.id);
    const name = `${hash(config)}.json`;
    const manifest = JSON.stringify([{ Config: name, RepoTags: reference.startsWith('sha256:') ? null : [...image.tags], Layers: [] }]);
    return Readable.from([
      writeTar([
        { path: name, contents: config },
        { path: 'manifest.json', contents: Buffer.from(manifest) },
      ]),
    ]);
  }

  async loadImage(archive: NodeJS.ReadableStream, _timeoutMs: number): Promise<string[]> {
    this.calls.push('load');
    const chunks: Buffer[] = [];
    for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
    const files = new Map(readTar(Buffer.concat(chunks)).map((file) => [file.path, file.contents]));
    const manifestText = files.get('manifest.json');
    if (!manifestText) throw new EngineError('image load failed: open manifest.json: no such file or directory');
    const loaded: string[] = [];
    for (const entry of JSON.parse(manifestText.toString('utf8')) as { Config: string; RepoTags: string[] | null }[]) {
      const configBlob = files.get(entry.Config);
      if (!configBlob) throw new EngineError(`image load failed: open ${entry.Config}: no such file or directory`);
      const config = JSON.parse(configBlob.toString('utf8')) as { config?: MemoryImage['config'] & { Labels?: Record<string, string> } };
      const id = `sha256:${hash(configBlob)}`;
      const { Labels: labels, ...rest } = config.config ?? {};
      for (const tag of entry.RepoTags ?? []) this.untagEverywhere(tag);
      this.images.set(id, { id, tags: new Set(entry.RepoTags ?? []), digests: new Set(), labels: labels ?? {}, config: rest, configBlob });
      loaded.push(`Loaded image ID: ${id}`);
    }
    return loaded;
  }

  async tagImage(reference: string, repo: string, tag: string): Promise<void> {
    const image = this.image(reference);
    if (!image) throw new EngineNotFoundError(`image ${reference} not found (No such image: ${reference})`);
    this.untagEverywhere(`${repo}:${tag}`);
    image.tags.add(`${repo}:${tag}`);
  }

  async imageTags(repository: string): Promise<string[]> {
    return [...this.images.values()].flatMap((image) => [...image.tags]).filter((tag) => tag.startsWith(`${repository}:`));
  }

  // --- volumes

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    if (!this.volumes.has(name)) this.volumes.set(name, { labels: { ...labels } });
  }

  async volumeExists(name: string): Promise<boolean> {
    return this.volumes.has(name);
  }

  async volumeMountpoint(name: string): Promise<string> {
    if (!this.volumes.has(name)) throw new EngineNotFoundError(`volume ${name}: no such volume`);
    return `/var/lib/docker/volumes/${name}/_data`;
  }

  async listVolumes(labels: string[]): Promise<string[]> {
    return [...this.volumes].filter(([, volume]) => matchesLabels(volume.labels, labels)).map(([name]) => name);
  }

  async describeVolumes(labels: string[]): Promise<VolumeSummary[]> {
    return [...this.volumes]
      .filter(([, volume]) => matchesLabels(volume.labels, labels))
      .map(([name, volume]) => ({ Name: name, Labels: { ...volume.labels } }));
  }

  async volumeSizes(): Promise<Record<string, number>> {
    this.calls.push('volume sizes');
    return Object.fromEntries([...this.volumes].map(([name, volume]) => [name, volume.sizeBytes ?? 0]));
  }

  /** What the engine would measure of a volume's files, for tests of the monitoring. */
  setVolumeSize(name: string, bytes: number): void {
    const volume = this.volumes.get(name);
    if (volume) volume.sizeBytes = bytes;
  }

  async removeVolume(name: string): Promise<void> {
    if (!this.volumes.has(name)) return;
    const user = [...this.containers.values()].find((c) => (c.body.HostConfig.Mounts ?? []).some((mount) => mount.Source === name));
    if (user) throw new EngineConflictError(`volume ${name}: remove ${name}: volume is in use - [${user.id}]`);
    this.volumes.delete(name);
  }

  // --- what a test does to the host from outside the API

  /** Puts an image on the host, as a pull or a load would have. */
  addImage(reference: string, options: { labels?: Record<string, string>; config?: MemoryImage['config'] } = {}): string {
    const tag = normalise(reference);
    const id = `sha256:${hash(`image ${tag}`)}`;
    this.untagEverywhere(tag);
    const image = this.images.get(id) ?? {
      id,
      tags: new Set<string>(),
      digests: new Set<string>(),
      labels: { ...(options.labels ?? {}) },
      config: { ...(options.config ?? {}) },
    };
    image.tags.add(tag);
    this.images.set(id, image);
    return id;
  }

  /** The container's first process ends by itself with `exitCode` (a crash, or a command that finished). */
  exitByItself(name: string, exitCode: number, error = ''): void {
    const c = this.container(name);
    this.end(c, exitCode);
    c.state.Error = error;
  }

  /** What the VM's processes wrote on their console. */
  writeLog(name: string, text: string): void {
    this.container(name).logs += text;
  }

  /** A file written into the container (by putArchive), or undefined. */
  fileOf(name: string, path: string): Buffer | undefined {
    return this.container(name).files.get(path);
  }

  setWritableLayerSize(name: string, bytes: number): void {
    this.container(name).sizeRw = bytes;
  }

  // --- inside

  private lookup(nameOrId: string): MemoryContainer | undefined {
    for (const c of this.containers.values()) if (c.name === nameOrId || c.id === nameOrId) return c;
    return undefined;
  }

  private container(nameOrId: string): MemoryContainer {
    const c = this.lookup(nameOrId);
    if (!c) throw new EngineNotFoundError(`container ${nameOrId} not found (No such container: ${nameOrId})`);
    return c;
  }

  private image(reference: string): MemoryImage | undefined {
    const wanted = normalise(reference);
    for (const image of this.images.values()) {
      if (image.id === reference || image.id === `sha256:${reference}` || image.tags.has(wanted) || image.digests.has(reference)) return image;
    }
    return undefined;
  }

  private untagEverywhere(tag: string): void {
    for (const image of this.images.values()) image.tags.delete(tag);
  }

  private run(c: MemoryContainer): void {
    const pid = this.nextPid++;
    c.state = { ...c.state, Status: 'running', Running: true, Paused: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() };
    this.processes?.started(pid);
  }

  private end(c: MemoryContainer, exitCode: number): void {
    const pid = c.state.Pid;
    c.state = { ...c.state, Status: 'exited', Running: false, Paused: false, Pid: 0, ExitCode: exitCode, FinishedAt: new Date().toISOString() };
    if (pid) this.processes?.ended(pid);
  }

  private newId(seed: string): string {
    return hash(`${seed} ${this.serial++}`);
  }
}

function hash(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An image config as the engine writes it; `created` tells apart two commits of the same container. */
function imageConfigBlob(config: MemoryImage['config'], labels: Record<string, string>, created: string): Buffer {
  return Buffer.from(JSON.stringify({ config: { ...config, Labels: labels }, created, rootfs: { type: 'layers', diff_ids: [] } }));
}

/** `busybox` is `busybox:latest`; a reference by digest or with a tag is kept as it is. */
function normalise(reference: string): string {
  if (reference.includes('@') || DIGEST.test(reference)) return reference;
  const lastPart = reference.slice(reference.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? reference : `${reference}:latest`;
}

function matchesLabels(labels: Record<string, string>, filters: string[]): boolean {
  return filters.every((filter) => {
    const at = filter.indexOf('=');
    return at === -1 ? Object.hasOwn(labels, filter) : labels[filter.slice(0, at)] === filter.slice(at + 1);
  });
}

function statusText(state: ContainerState): string {
  switch (state.Status) {
    case 'running':
      return 'Up 1 second';
    case 'paused':
      return 'Up 1 second (Paused)';
    case 'exited':
      return `Exited (${state.ExitCode}) 1 second ago`;
    case 'created':
      return 'Created';
    default:
      return state.Status;
  }
}

function joinPath(directory: string, path: string): string {
  return `${directory.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** A ustar archive of regular files, as readTar reads it back. */
function writeTar(files: { path: string; contents: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    const header = Buffer.alloc(512);
    header.write(file.path, 0, 100);
    header.write('0000644\0', 100);
    header.write(`${file.contents.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('0', 156);
    header.write('ustar\u000000', 257);
    header.write('        ', 148);
    const sum = header.reduce((total, byte) => total + byte, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, file.contents, Buffer.alloc((512 - (file.contents.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** The regular files of a ustar archive (what tarArchive writes). */
function readTar(tar: Buffer): { path: string; contents: Buffer }[] {
  const files: { path: string; contents: Buffer }[] = [];
  const field = (block: Buffer, offset: number, length: number) =>
    block
      .subarray(offset, offset + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length;) {
    const block = tar.subarray(at, at + 512);
    if (block.every((byte) => byte === 0)) break;
    const name = field(block, 0, 100);
    const prefix = field(block, 345, 155);
    const size = parseInt(field(block, 124, 12).trim() || '0', 8);
    const type = field(block, 156, 1);
    if (type === '0' || type === '') files.push({ path: prefix ? `${prefix}/${name}` : name, contents: Buffer.from(tar.subarray(at + 512, at + 512 + size)) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
