import type { EngineEndpoint } from './endpoint.ts';
import type { HttpExchange } from './http-exchange.ts';
import { EngineError, EngineNotFoundError } from './errors.ts';
import { EngineTransport } from './transport.ts';
import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerSummary,
  ContainerUpdateBody,
  EngineInfo,
  EngineVersion,
  ImageInspect,
  ImageSummary,
} from './types.ts';

const enc = encodeURIComponent;

/** Typed Docker Engine calls. Each states its expected statuses; the transport knows nothing of containers. */
export class EngineClient {
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

  version(): Promise<EngineVersion> {
    return this.transport.json({ method: 'GET', path: '/version', expect: [200], subject: this.transport.describe() });
  }

  info(): Promise<EngineInfo> {
    return this.transport.json({ method: 'GET', path: '/info', expect: [200], subject: this.transport.describe() });
  }

  inspectContainer(name: string): Promise<ContainerInspect> {
    return this.transport.json({ method: 'GET', path: `/containers/${enc(name)}/json`, expect: [200], subject: `container ${name}` });
  }

  async findContainer(name: string): Promise<ContainerInspect | undefined> {
    try {
      return await this.inspectContainer(name);
    } catch (error) {
      if (error instanceof EngineNotFoundError) return undefined;
      throw error;
    }
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

  async findImage(reference: string): Promise<ImageInspect | undefined> {
    try {
      return await this.inspectImage(reference);
    } catch (error) {
      if (error instanceof EngineNotFoundError) return undefined;
      throw error;
    }
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
    checkProgress(`image ${reference}`, 'pull', response.text);
  }

  /** Pushes `repo:tag` to the registry its name says. */
  async pushImage(repo: string, tag: string, timeoutMs: number, registryAuth?: string): Promise<void> {
    const response = await this.transport.call({
      method: 'POST',
      path: `/images/${enc(repo)}/push`,
      query: { tag },
      headers: { 'x-registry-auth': registryAuth ?? Buffer.from('{}').toString('base64') },
      expect: [200],
      subject: `image ${repo}:${tag}`,
      timeoutMs,
    });
    checkProgress(`image ${repo}:${tag}`, 'push', response.text);
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
    try {
      await this.transport.call({ method: 'GET', path: `/volumes/${enc(name)}`, expect: [200], subject: `volume ${name}` });
      return true;
    } catch (error) {
      if (error instanceof EngineNotFoundError) return false;
      throw error;
    }
  }

  /** Names of the volumes carrying every one of the given labels. */
  async listVolumes(labels: string[]): Promise<string[]> {
    const answer = await this.transport.json<{ Volumes?: { Name: string }[] | null }>({
      method: 'GET',
      path: '/volumes',
      query: { filters: JSON.stringify({ label: labels }) },
      expect: [200],
      subject: 'volumes',
    });
    return (answer.Volumes ?? []).map((volume) => volume.Name);
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.transport.call({ method: 'DELETE', path: `/volumes/${enc(name)}`, expect: [204], subject: `volume ${name}` });
    } catch (error) {
      if (!(error instanceof EngineNotFoundError)) throw error;
    }
  }

  /** Extracts a tar archive into `path` of the container's filesystem (volumes mounted there included). */
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

  /** A tar archive of `path` in the container's filesystem (volumes mounted there included), read as it arrives. */
  openArchive(name: string, path: string, timeoutMs: number): Promise<NodeJS.ReadableStream> {
    return this.transport.open({ method: 'GET', path: `/containers/${enc(name)}/archive`, query: { path }, expect: [200], subject: `container ${name}`, timeoutMs });
  }

  /** See EngineTransport.forwardRemotePort. */
  forwardRemotePort(port: number, target: { host: string; port: number }): Promise<() => Promise<void>> {
    return this.transport.forwardRemotePort(port, target);
  }
}

/** The engine reports a failed pull or push inside its progress stream, after a 200. */
function checkProgress(subject: string, verb: string, text: string): void {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let event: { error?: string };
    try {
      event = JSON.parse(line) as { error?: string };
    } catch {
      throw new EngineError(`${subject}: the engine's ${verb} progress is not readable: ${line.slice(0, 120)}`);
    }
    if (event.error) throw new EngineError(`${subject}: ${verb} failed: ${event.error}`);
  }
}
