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

  constructor(endpoint: EngineEndpoint, options: { timeoutMs?: number; exchange?: HttpExchange } = {}) {
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

  /** Pulls `reference`; the engine streams progress lines and reports a failed pull inside the stream. */
  async pullImage(reference: string, timeoutMs: number): Promise<void> {
    const response = await this.transport.call({
      method: 'POST',
      path: '/images/create',
      query: { fromImage: reference },
      expect: [200],
      subject: `image ${reference}`,
      timeoutMs,
    });
    for (const line of response.text.split('\n')) {
      if (!line.trim()) continue;
      let event: { error?: string };
      try {
        event = JSON.parse(line) as { error?: string };
      } catch {
        throw new EngineError(`image ${reference}: the engine's pull progress is not readable: ${line.slice(0, 120)}`);
      }
      if (event.error) throw new EngineError(`image ${reference}: pull failed: ${event.error}`);
    }
  }
}
