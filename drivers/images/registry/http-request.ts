import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { stallGuard, type StallWatch } from '../../streams/stall-timer.ts';

/** Keep-alive connections to the servers one client talks to (a registry, its token service, its blob storage). */
export class ConnectionPool {
  readonly http = new http.Agent({ keepAlive: true });
  readonly https = new https.Agent({ keepAlive: true });

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Without one, Node's shared agents. */
  pool?: ConnectionPool;
  /** How long the server may stay silent: before its answer, and between two pieces of a body either way. */
  timeoutMs: number;
}

export interface HttpResponse {
  statusCode: number;
  /** Names in lower case; a header the server repeated is a list. */
  headers: Record<string, string | string[]>;
  /** Read it to its end, or `dump` it, so that the connection serves the next request. */
  body: IncomingMessage;
}

/** Reaching the server itself may take this long at most (the TLS handshake included). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One HTTP(S) request, its body (a buffer, or a stream sent as it comes) and the answer's headers; the answer's
 * body is left to the caller. Credentials in the URL are not sent, and no error names more than its origin.
 */
export function request(url: URL, options: RequestOptions): Promise<HttpResponse> {
  const secure = url.protocol === 'https:';
  const agent = options.pool ? (secure ? options.pool.https : options.pool.http) : undefined;
  const { timeoutMs } = options;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, { method: options.method, headers: options.headers, agent, auth: null });
    const watch: StallWatch = {};
    const stall = stallGuard(req, watch, timeoutMs, {
      timedOut: () => new Error(watch.answer ? `the server sent nothing for ${timeoutMs} ms` : `no answer within ${timeoutMs} ms`),
      reject,
      onSettle: () => clearTimeout(connecting),
    });
    const { settle, fail } = stall;
    const connectTimeoutMs = Math.min(timeoutMs, CONNECT_TIMEOUT_MS);
    const connecting = setTimeout(() => fail(new Error(`connecting to ${url.host} took more than ${connectTimeoutMs} ms`)), connectTimeoutMs);
    req.on('socket', (s: Socket) => {
      watch.connection = s;
      s.on('data', stall.flowing);
      if (!s.connecting) clearTimeout(connecting);
      else s.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connecting));
    });
    req.on('error', fail);
    req.on('response', (res) => {
      watch.answer = res;
      stall.flowing();
      res.on('error', fail);
      res.on('end', settle);
      res.on('close', settle);
      resolve({ statusCode: res.statusCode ?? 0, headers: headersOf(res), body: res });
    });
    const { body } = options;
    if (body === undefined || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      body.on('data', stall.flowing);
      body.once('error', fail);
      body.pipe(req);
    }
  });
}

/** Reads and drops what is left of a body (the first 128 KiB; beyond that the connection is not worth keeping). */
export async function dump(response: HttpResponse): Promise<void> {
  const body = response.body;
  if (body.readableEnded || body.destroyed) return;
  await new Promise<void>((resolve) => {
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 128 * 1024) body.destroy();
    });
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => resolve());
  });
}

export async function bytesOf(response: HttpResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function textOf(response: HttpResponse): Promise<string> {
  return (await bytesOf(response)).toString('utf8');
}

export async function jsonOf(response: HttpResponse): Promise<unknown> {
  return JSON.parse(await textOf(response)) as unknown;
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function headersOf(res: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(res.headersDistinct)) {
    if (values) headers[name] = values.length === 1 ? values[0]! : values;
  }
  return headers;
}
