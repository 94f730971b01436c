import type { EngineEndpoint } from './endpoint.ts';
import type { Engine, ExecState } from './engine.ts';
import { OutputFrames } from './output-frames.ts';
import type { HttpExchange } from './http-exchange.ts';
import { EngineError, unlessNotFound } from './engine-errors.ts';
import { EngineTransport } from './transport.ts';
import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerPathStat,
  ContainerSummary,
  ContainerUpdateBody,
  EngineInfo,
  EngineVersion,
  ImageInspect,
  ImageSummary,
  VolumeSummary,
} from './types.ts';

const enc = encodeURIComponent;

/** Typed Docker Engine calls. Each states its expected statuses; the transport knows nothing of containers. */
export class EngineClient implements Engine {
  readonly transport: EngineTransport;

  constructor(
    readonly endpoint: EngineEndpoint,
    options: { timeoutMs?: number; exchange?: HttpExchange } = {},
  ) {
    this.transport = new EngineTransport(endpoint, options.timeoutMs, options.exchange);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** The host reached over SSH; undefined for a local socket. */
  get remoteHost(): string | undefined {
    return this.endpoint.kind === 'ssh' ? this.endpoint.host : undefined;
  }

  version(): Promise<EngineVersion> {
    return this.transport.json({ method: 'GET', path: '/version', expect: [200], subject: this.transport.describe() });
  }

  info(): Promise<EngineInfo> {
    return this.transport.json({ method: 'GET', path: '/info', expect: [200], subject: this.transport.describe() });
  }

  inspectContainer(name: string): Promise<ContainerInspect> {
    return this.transport.json({ method: 'GET', path: `/containers/${enc(name)}/json`, expect: [200], subject: `container ${name}` });
  }

  findContainer(name: string): Promise<ContainerInspect | undefined> {
    return unlessNotFound(this.inspectContainer(name));
  }

  /**
   * Containers carrying every one of the given labels (`key` or `key=value`), stopped ones included.
   * `withSizes` adds each writable layer's size, which the engine measures on disk: slow, use sparingly.
   */
  listContainers(labels: string[], withSizes = false): Promise<ContainerSummary[]> {
    return this.transport.json({
      method: 'GET',
      path: '/containers/json',
      query: { all: true, size: withSizes || undefined, filters: JSON.stringify({ label: labels }) },
      expect: [200],
      subject: 'containers',
      timeoutMs: withSizes ? this.transport.defaultTimeoutMs * 4 : undefined,
    });
  }

  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    const created = await this.transport.json<{ Id: string }>({
      method: 'POST',
      path: '/containers/create',
      query: { name },
      body,
      expect: [201],
      subject: `container ${name}`,
    });
    return created.Id;
  }

  async startContainer(name: string): Promise<void> {
    await this.transport.call({ method: 'POST', path: `/containers/${enc(name)}/start`, expect: [204, 304], subject: `container ${name}` });
  }

  /** Graceful stop: the stop signal, then SIGKILL after `graceSeconds`. */
  async stopContainer(name: string, graceSeconds: number): Promise<void> {
    await this.transport.call({
      method: 'POST',
      path: `/containers/${enc(name)}/stop`,
      query: { t: graceSeconds },
      expect: [204, 304],
      subject: `container ${name}`,
      timeoutMs: this.transport.defaultTimeoutMs + graceSeconds * 1000,
    });
  }

  async restartContainer(name: string, graceSeconds: number): Promise<void> {
    await this.transport.call({
      method: 'POST',
      path: `/containers/${enc(name)}/restart`,
      query: { t: graceSeconds },
      expect: [204],
      subject: `container ${name}`,
      timeoutMs: this.transport.defaultTimeoutMs + graceSeconds * 1000,
    });
  }

  async killContainer(name: string, signal = 'SIGKILL'): Promise<void> {
    await this.transport.call({ method: 'POST', path: `/containers/${enc(name)}/kill`, query: { signal }, expect: [204], subject: `container ${name}` });
  }

  async pauseContainer(name: string): Promise<void> {
    await this.transport.call({ method: 'POST', path: `/containers/${enc(name)}/pause`, expect: [204], subject: `container ${name}` });
  }

  async unpauseContainer(name: string): Promise<void> {
    await this.transport.call({ method: 'POST', path: `/containers/${enc(name)}/unpause`, expect: [204], subject: `container ${name}` });
  }

  async removeContainer(name: string): Promise<void> {
    await this.transport.call({
      method: 'DELETE',
      path: `/containers/${enc(name)}`,
      query: { force: true, v: true },
      expect: [204],
      subject: `container ${name}`,
    });
  }

  async updateContainer(name: string, body: ContainerUpdateBody): Promise<void> {
    await this.transport.call({ method: 'POST', path: `/containers/${enc(name)}/update`, body, expect: [200], subject: `container ${name}` });
  }

  async renameContainer(name: string, newName: string): Promise<void> {
    await this.transport.call({
      method: 'POST',
      path: `/containers/${enc(name)}/rename`,
      query: { name: newName },
      expect: [204],
      subject: `container ${name}`,
    });
  }

  /** Saves the container's filesystem as an image `repo:tag`; returns the image id. */
  async commitContainer(name: string, repo: string, tag: string, labels: Record<string, string>): Promise<string> {
    const committed = await this.transport.json<{ Id: string }>({
      method: 'POST',
      path: '/commit',
      query: { container: name, repo, tag, pause: true },
      body: { Labels: labels },
      expect: [201],
      subject: `container ${name}`,
      timeoutMs: this.transport.defaultTimeoutMs * 4,
    });
    return committed.Id;
  }

  inspectImage(reference: string): Promise<ImageInspect> {
    return this.transport.json({ method: 'GET', path: `/images/${enc(reference)}/json`, expect: [200], subject: `image ${reference}` });
  }

  findImage(reference: string): Promise<ImageInspect | undefined> {
    return unlessNotFound(this.inspectImage(reference));
  }

  listImages(labels: string[]): Promise<ImageSummary[]> {
    return this.transport.json({
      method: 'GET',
      path: '/images/json',
      query: { filters: JSON.stringify({ label: labels }) },
      expect: [200],
      subject: 'images',
    });
  }

  async removeImage(reference: string): Promise<void> {
    await this.transport.call({ method: 'DELETE', path: `/images/${enc(reference)}`, query: { force: true }, expect: [200], subject: `image ${reference}` });
  }

  /**
   * Pulls `reference`; the engine streams progress lines and reports a failed pull inside the stream.
   * `registryAuth` is the X-Registry-Auth value for a registry that wants credentials.
   */
  async pullImage(reference: string, timeoutMs: number, registryAuth?: string): Promise<void> {
    const response = await this.transport.call({
      method: 'POST',
      path: '/images/create',
      query: { fromImage: reference },
      headers: registryAuth ? { 'x-registry-auth': registryAuth } : undefined,
      expect: [200],
      subject: `image ${reference}`,
      timeoutMs,
    });
    progressEvents(response.text, `image ${reference}`, 'pull');
  }

  /**
   * Pushes `repository:tag` to the registry its name points at; returns the digest the registry gave it.
   * Registries without authentication take the empty credentials `{}`; `registryAuth` is the engine's base64 JSON header.
   */
  async pushImage(repository: string, tag: string, timeoutMs: number, registryAuth?: string): Promise<string> {
    const subject = `image ${repository}:${tag}`;
    const response = await this.transport.call({
      method: 'POST',
      path: `/images/${enc(repository)}/push`,
      query: { tag },
      headers: { 'x-registry-auth': registryAuth ?? Buffer.from('{}').toString('base64') },
      expect: [200],
      subject,
      timeoutMs,
    });
    const digest = progressEvents(response.text, subject, 'push')
      .map((event) => event.aux?.Digest)
      .find((value): value is string => typeof value === 'string' && /^sha256:[a-f0-9]{64}$/.test(value));
    if (!digest) throw new EngineError(`${subject}: the engine reported no digest for the push`);
    return digest;
  }

  /** The image as `docker save` writes it (manifest.json, its config, one tar a layer), read as it arrives. */
  saveImage(reference: string, timeoutMs: number): Promise<NodeJS.ReadableStream> {
    return this.transport.open({ method: 'GET', path: `/images/${enc(reference)}/get`, expect: [200], subject: `image ${reference}`, timeoutMs });
  }

  /** Loads a `docker save` archive; returns what the engine reported loading (`Loaded image ID: sha256:…` lines). */
  async loadImage(archive: NodeJS.ReadableStream, timeoutMs: number): Promise<string[]> {
    const response = await this.transport.call({
      method: 'POST',
      path: '/images/load',
      query: { quiet: true },
      rawBody: archive,
      contentType: 'application/x-tar',
      expect: [200],
      subject: 'image load',
      timeoutMs,
    });
    return loadEvents(response.text);
  }

  /** Copies a tar archive into the container's filesystem, unpacked at `path`; works on a created, stopped container. */
  async putArchive(name: string, path: string, tar: Buffer): Promise<void> {
    await this.transport.call({
      method: 'PUT',
      path: `/containers/${enc(name)}/archive`,
      query: { path },
      rawBody: tar,
      contentType: 'application/x-tar',
      expect: [200],
      subject: `container ${name}`,
    });
  }

  /** The last `tailLines` lines the container wrote on stdout and stderr, in the order written. */
  async containerLogs(name: string, tailLines: number): Promise<string> {
    const response = await this.transport.call({
      method: 'GET',
      path: `/containers/${enc(name)}/logs`,
      query: { stdout: true, stderr: true, tail: tailLines },
      expect: [200],
      subject: `container ${name}`,
    });
    return demultiplexLogs(response.bytes ?? Buffer.from(response.text));
  }

  async pathExists(name: string, path: string): Promise<boolean> {
    const response = await this.transport.call({
      method: 'HEAD',
      path: `/containers/${enc(name)}/archive`,
      query: { path },
      expect: [200, 404],
      subject: `container ${name}`,
    });
    return response.status === 200;
  }

  async statPath(name: string, path: string): Promise<ContainerPathStat | undefined> {
    const response = await this.transport.call({
      method: 'HEAD',
      path: `/containers/${enc(name)}/archive`,
      query: { path },
      expect: [200, 404],
      subject: `container ${name}`,
    });
    const header = response.headers['x-docker-container-path-stat'];
    if (response.status === 404 || typeof header !== 'string') return undefined;
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as ContainerPathStat;
  }

  async sawOomKill(name: string, since: string, until: string): Promise<boolean> {
    const seconds = (iso: string, offset: number) => ((Date.parse(iso) + offset) / 1000).toFixed(3);
    // A bounded window: the engine answers with what it recorded and closes, waiting at most until `until` (a
    // moment after the exit, when asked right after it), so no stream stays open.
    const response = await this.transport.call({
      method: 'GET',
      path: '/events',
      query: {
        since: seconds(since, -1000),
        until: seconds(until, 1000),
        filters: JSON.stringify({ type: ['container'], container: [name], event: ['oom'] }),
      },
      expect: [200],
      subject: `container ${name}`,
    });
    return response.text.split('\n').some((line) => line.includes('"oom"'));
  }

  async createExec(name: string, argv: string[], withStdin: boolean): Promise<string> {
    const created = await this.transport.json<{ Id: string }>({
      method: 'POST',
      path: `/containers/${enc(name)}/exec`,
      body: { Cmd: argv, AttachStdin: withStdin, AttachStdout: true, AttachStderr: true, Tty: false },
      expect: [201],
      subject: `container ${name}`,
    });
    return created.Id;
  }

  async runExec(id: string, stdin: Buffer | undefined, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<void> {
    const connection = await this.transport.upgrade({
      method: 'POST',
      path: `/exec/${enc(id)}/start`,
      body: { Detach: false, Tty: false },
      expect: [101],
      subject: `command ${id.slice(0, 12)}`,
    });
    const frames = new OutputFrames(onOutput);
    await new Promise<void>((resolve, reject) => {
      connection.on('data', (chunk: Buffer) => frames.push(chunk));
      connection.once('end', resolve);
      connection.once('close', resolve);
      connection.once('error', reject);
      // The engine reads the command's input only once it has answered 101: written now, then ended.
      if (stdin?.length) connection.write(stdin);
      connection.end();
    });
  }

  async inspectExec(id: string): Promise<ExecState> {
    const state = await this.transport.json<{ Running: boolean; ExitCode: number | null; Pid: number }>({
      method: 'GET',
      path: `/exec/${enc(id)}/json`,
      expect: [200],
      subject: `command ${id.slice(0, 12)}`,
    });
    return { running: state.Running, exitCode: state.ExitCode, pid: state.Pid };
  }

  async tagImage(reference: string, repo: string, tag: string): Promise<void> {
    await this.transport.call({ method: 'POST', path: `/images/${enc(reference)}/tag`, query: { repo, tag }, expect: [201], subject: `image ${reference}` });
  }

  /** Tags of images in `repository` (`repo:tag` strings). */
  async imageTags(repository: string): Promise<string[]> {
    const images = await this.transport.json<ImageSummary[]>({
      method: 'GET',
      path: '/images/json',
      query: { filters: JSON.stringify({ reference: [repository] }) },
      expect: [200],
      subject: 'images',
    });
    return images.flatMap((image) => image.RepoTags ?? []).filter((tag) => tag.startsWith(`${repository}:`));
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.transport.call({ method: 'POST', path: '/volumes/create', body: { Name: name, Labels: labels }, expect: [201], subject: `volume ${name}` });
  }

  async volumeExists(name: string): Promise<boolean> {
    return (
      (await unlessNotFound(this.transport.call({ method: 'GET', path: `/volumes/${enc(name)}`, expect: [200], subject: `volume ${name}` }))) !== undefined
    );
  }

  async volumeMountpoint(name: string): Promise<string> {
    const volume = await this.transport.json<{ Mountpoint: string }>({
      method: 'GET',
      path: `/volumes/${enc(name)}`,
      expect: [200],
      subject: `volume ${name}`,
    });
    return volume.Mountpoint;
  }

  /** Names of the volumes carrying every one of the given labels. */
  async listVolumes(labels: string[]): Promise<string[]> {
    return (await this.describeVolumes(labels)).map((volume) => volume.Name);
  }

  async describeVolumes(labels: string[]): Promise<VolumeSummary[]> {
    const answer = await this.transport.json<{ Volumes?: { Name: string; Labels?: Record<string, string> | null }[] | null }>({
      method: 'GET',
      path: '/volumes',
      query: { filters: JSON.stringify({ label: labels }) },
      expect: [200],
      subject: 'volumes',
    });
    return (answer.Volumes ?? []).map((volume) => ({ Name: volume.Name, Labels: volume.Labels ?? {} }));
  }

  async volumeSizes(): Promise<Record<string, number>> {
    // API 1.41 engines have no `type=volume` filter: the whole usage report is read.
    const answer = await this.transport.json<{ Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] | null }>({
      method: 'GET',
      path: '/system/df',
      expect: [200],
      subject: 'disk usage',
    });
    return Object.fromEntries((answer.Volumes ?? []).map((volume) => [volume.Name, Math.max(0, volume.UsageData?.Size ?? 0)]));
  }

  async removeVolume(name: string): Promise<void> {
    await unlessNotFound(this.transport.call({ method: 'DELETE', path: `/volumes/${enc(name)}`, expect: [204], subject: `volume ${name}` }));
  }

  /** A tar archive of `path` in the container's filesystem (volumes mounted there included), read as it arrives. */
  openArchive(name: string, path: string, timeoutMs: number): Promise<NodeJS.ReadableStream> {
    return this.transport.open({
      method: 'GET',
      path: `/containers/${enc(name)}/archive`,
      query: { path },
      expect: [200],
      subject: `container ${name}`,
      timeoutMs,
    });
  }

  /** See EngineTransport.forwardRemotePort. */
  forwardRemotePort(port: number, target: { host: string; port: number }): Promise<() => Promise<void>> {
    return this.transport.forwardRemotePort(port, target);
  }
}

interface ProgressEvent {
  error?: string;
  aux?: { Digest?: unknown };
}

/** The JSON lines a pull or push streams; a failure is reported inside the stream, not by the status. */
function progressEvents(text: string, subject: string, verb: 'pull' | 'push'): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let event: ProgressEvent;
    try {
      event = JSON.parse(line) as ProgressEvent;
    } catch {
      throw new EngineError(`${subject}: the engine's ${verb} progress is not readable: ${line.slice(0, 120)}`);
    }
    if (event.error) throw new EngineError(`${subject}: ${verb} failed: ${event.error}`);
    events.push(event);
  }
  return events;
}

/** What a load reported, one line a loaded image; a failure reported inside the stream is an error. */
function loadEvents(text: string): string[] {
  const loaded: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let event: { stream?: string; error?: string };
    try {
      event = JSON.parse(line) as { stream?: string; error?: string };
    } catch {
      throw new EngineError(`image load: the engine's answer is not readable: ${line.slice(0, 120)}`);
    }
    if (event.error) throw new EngineError(`image load failed: ${event.error}`);
    if (event.stream?.trim()) loaded.push(event.stream.trim());
  }
  return loaded;
}

/**
 * A container without a TTY has its output framed: per frame one byte for the stream, three zero bytes and
 * a big-endian length. Anything that does not look framed is the raw output of a TTY container.
 */
function demultiplexLogs(bytes: Buffer): string {
  const isFramed = (at: number) => at + 8 <= bytes.length && bytes[at]! <= 2 && bytes[at + 1] === 0 && bytes[at + 2] === 0 && bytes[at + 3] === 0;
  if (bytes.length && !isFramed(0)) return bytes.toString('utf8');
  const parts: Buffer[] = [];
  let at = 0;
  while (isFramed(at)) {
    const length = bytes.readUInt32BE(at + 4);
    parts.push(bytes.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}
