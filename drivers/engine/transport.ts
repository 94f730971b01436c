import { EngineConflictError, EngineError, EngineNotFoundError, EngineUnreachableError } from './engine-errors.ts';
import type { EngineEndpoint } from './endpoint.ts';
import { HttpTimeoutError, type HttpAnswer, type HttpExchange, type HttpRequest } from './http-exchange.ts';
import { UnixSocketExchange } from './unix-socket-exchange.ts';
import type { Duplex } from 'node:stream';

/** One engine API call: what to send, which statuses mean success, and how to name failures. */
export interface EngineCall {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'HEAD';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A raw request body (e.g. a tar stream), sent as is. */
  rawBody?: NodeJS.ReadableStream | Buffer;
  contentType?: string;
  /** Extra request headers, e.g. X-Registry-Auth. */
  headers?: Record<string, string>;
  expect: number[];
  /** What the caller calls the object, for 404/409 messages, e.g. "container one-7". */
  subject: string;
  timeoutMs?: number;
}

export type EngineResponse = HttpAnswer;

/** The HTTP side of the engine client: timeouts, API version prefix, error phrasing. */
export class EngineTransport {
  private apiVersion: Promise<string> | undefined;
  private exchange: Promise<HttpExchange> | undefined;

  constructor(
    private readonly endpoint: EngineEndpoint,
    readonly defaultTimeoutMs = 30_000,
    exchange?: HttpExchange,
  ) {
    if (exchange) this.exchange = Promise.resolve(exchange);
  }

  describe(): string {
    return this.endpoint.kind === 'unix' ? `engine at ${this.endpoint.socketPath}` : `engine on ${this.endpoint.host}`;
  }

  async close(): Promise<void> {
    const exchange = this.exchange;
    this.exchange = undefined;
    if (exchange) await (await exchange.catch(() => undefined))?.close();
  }

  /**
   * Makes `port` on the engine host's loopback lead back to `target` on this machine, for as long as the
   * returned function is not called. Only an engine reached over SSH needs it; a local engine shares our loopback.
   */
  async forwardRemotePort(port: number, target: { host: string; port: number }): Promise<() => Promise<void>> {
    const exchange = await this.exchangeFor();
    if (!exchange.forwardRemotePort) return async () => undefined;
    return exchange.forwardRemotePort(port, target);
  }

  private exchangeFor(): Promise<HttpExchange> {
    if (this.exchange) return this.exchange;
    const endpoint = this.endpoint;
    if (endpoint.kind === 'unix') {
      this.exchange = Promise.resolve(new UnixSocketExchange(endpoint.socketPath));
    } else {
      // Loaded on demand: actions on the local socket never pay for ssh2.
      const keeper = endpoint.keeper;
      this.exchange = keeper
        ? import('./keeper-exchange.ts').then(({ keeperOrDirectExchange }) => keeperOrDirectExchange(endpoint, keeper, this.defaultTimeoutMs))
        : import('./ssh-exchange.ts').then(({ sshExchange }) => sshExchange(endpoint, this.defaultTimeoutMs));
    }
    return this.exchange;
  }

  /**
   * The API version both sides speak when the engine refuses the one this client is written for:
   * the engine's own, capped at the newest this client knows. Asked once.
   */
  negotiatedVersion(): Promise<string> {
    this.apiVersion ??= this.send({ method: 'GET', path: '/_ping', expect: [200], subject: this.describe() }, false).then((response) => {
      const header = response.headers['api-version'];
      const engineVersion = typeof header === 'string' ? header : '1.41';
      return compareVersions(engineVersion, NEWEST_KNOWN_API) > 0 ? NEWEST_KNOWN_API : engineVersion;
    });
    this.apiVersion.catch(() => (this.apiVersion = undefined));
    return this.apiVersion;
  }

  async call(call: EngineCall): Promise<EngineResponse> {
    return this.send(call, true);
  }

  /** A call whose answer body is streamed (an archive); a status outside `expect` is an error as for `call`. */
  async open(call: EngineCall): Promise<NodeJS.ReadableStream> {
    const exchange = await this.exchangeFor();
    const version = this.apiVersion ? await this.apiVersion : WRITTEN_FOR_API;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) query.set(key, String(value));
    const search = query.size ? `?${query}` : '';
    let answer;
    try {
      answer = await exchange.open({
        method: call.method,
        path: `/v${version}${call.path}${search}`,
        headers: { ...call.headers },
        timeoutMs: call.timeoutMs ?? this.defaultTimeoutMs,
      });
    } catch (error) {
      throw new EngineError(`${call.subject}: cannot reach the ${this.describe()}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (call.expect.includes(answer.status)) return answer.body;
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body as AsyncIterable<Buffer>) chunks.push(chunk);
    throw statusError(call, answer.status, Buffer.concat(chunks).toString('utf8'));
  }

  /** A call that takes the connection over on success (exec start): the connection, to write to and read from. */
  async upgrade(call: EngineCall): Promise<Duplex> {
    const exchange = await this.exchangeFor();
    if (!exchange.upgrade) throw new EngineError(`${call.subject}: the ${this.describe()} is reached over SSH; running a command needs the host's own socket`);
    const version = this.apiVersion ? await this.apiVersion : WRITTEN_FOR_API;
    const timeoutMs = call.timeoutMs ?? this.defaultTimeoutMs;
    let answer;
    try {
      answer = await exchange.upgrade({
        method: call.method,
        path: `/v${version}${call.path}`,
        headers: { 'content-type': 'application/json', ...call.headers },
        body: JSON.stringify(call.body ?? {}),
        timeoutMs,
      });
    } catch (error) {
      if (error instanceof HttpTimeoutError) throw new EngineUnreachableError(`${call.subject}: ${this.describe()} did not answer within ${timeoutMs} ms`);
      throw new EngineUnreachableError(`${call.subject}: cannot reach the ${this.describe()}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (answer.connection) return answer.connection;
    throw statusError(call, answer.status, answer.text);
  }

  async json<T>(call: EngineCall): Promise<T> {
    const response = await this.call(call);
    if (!response.text) return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch (error) {
      // A cut body the framing could not reveal, or an answer from something that is not the engine.
      const reason = error instanceof Error ? error.message : String(error);
      throw new EngineError(`${call.subject}: the ${this.describe()} answered ${response.status} with a body that is not JSON: ${reason}`);
    }
  }

  private async send(call: EngineCall, versioned: boolean): Promise<EngineResponse> {
    // Calls go out at the version this client is written for, with no round trip to ask first; only an
    // engine that refuses it (one too old, or one that dropped it) makes the client negotiate.
    const streamed = call.rawBody !== undefined && !Buffer.isBuffer(call.rawBody);
    if (versioned && streamed) await this.negotiatedVersion();
    const version = this.apiVersion ? await this.apiVersion : WRITTEN_FOR_API;
    const response = await this.exchangeOnce(call, versioned ? `/v${version}` : '');
    if (versioned && !this.apiVersion && response.status === 400 && /client version/i.test(response.text)) {
      await this.negotiatedVersion();
      return this.send(call, versioned);
    }
    if (!call.expect.includes(response.status)) throw statusError(call, response.status, response.text);
    return response;
  }

  private async exchangeOnce(call: EngineCall, prefix: string): Promise<EngineResponse> {
    const timeoutMs = call.timeoutMs ?? this.defaultTimeoutMs;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) query.set(key, String(value));
    const search = query.size ? `?${query}` : '';
    const headers: Record<string, string> = { ...call.headers };
    let body: HttpRequest['body'];
    if (call.rawBody !== undefined) {
      body = call.rawBody;
      headers['content-type'] = call.contentType ?? 'application/octet-stream';
    } else if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    let response: HttpAnswer;
    try {
      const exchange = await this.exchangeFor();
      response = await exchange.send({ method: call.method, path: `${prefix}${call.path}${search}`, headers, body, timeoutMs });
    } catch (error) {
      if (error instanceof EngineError) throw error;
      if (error instanceof HttpTimeoutError) throw new EngineUnreachableError(`${call.subject}: ${this.describe()} did not answer within ${timeoutMs} ms`);
      const reason = error instanceof Error ? error.message : String(error);
      throw new EngineUnreachableError(`${call.subject}: cannot reach the ${this.describe()}: ${reason}`);
    }
    return response;
  }
}

/** Debian 12's engine speaks 1.41; newer engines still accept it, and those that do not are negotiated with. */
const WRITTEN_FOR_API = '1.41';
const NEWEST_KNOWN_API = '1.47';

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

function statusError(call: EngineCall, status: number, text: string): EngineError {
  let detail = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: string };
    if (parsed.message) detail = parsed.message;
  } catch {
    // not JSON: keep the raw text
  }
  detail = detail.split('\n')[0]!.slice(0, 300);
  if (status === 404) return new EngineNotFoundError(`${call.subject} not found${detail ? ` (${detail})` : ''}`);
  if (status === 409) return new EngineConflictError(`${call.subject}: ${detail || 'conflict'}`);
  return new EngineError(`${call.subject}: engine answered ${status}${detail ? `: ${detail}` : ''}`, status);
}

/**
 * Loads the SSH transports now instead of at their first use: a resident process (the action agent) must not find
 * its bundle's chunks replaced by newer remotes (`onehost sync`) when an action first needs them.
 */
export async function loadSshTransports(): Promise<void> {
  await Promise.all([import('./keeper-exchange.ts'), import('./ssh-exchange.ts')]);
}
