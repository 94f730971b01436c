import http from 'node:http';
import https from 'node:https';
import xmlrpc from 'xmlrpc';
import { OneNameTakenError, OneRpcError } from './one-errors.ts';
import type { OneEndpoint } from './one-credentials.ts';

type Param = string | number | boolean;

/**
 * oned's XML-RPC API as promises: a timeout on every call, keep-alive connections, and oned's
 * `[success, body or error, error code, ...]` answers unpacked into a value or a OneRpcError.
 */
export class OneRpc {
  private readonly client: xmlrpc.Client;
  private readonly agent: http.Agent;

  constructor(
    private readonly endpoint: OneEndpoint,
    private readonly timeoutMs = 30_000,
  ) {
    const secure = endpoint.url.startsWith('https:');
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
    // Host, port and path rather than `url`, which the library would read with the deprecated url.parse().
    const url = new URL(endpoint.url);
    const options = {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port) || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      agent: this.agent,
    } as Parameters<typeof xmlrpc.createClient>[0];
    this.client = secure ? xmlrpc.createSecureClient(options) : xmlrpc.createClient(options);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Calls `method` with the session first, as oned wants it; resolves with the answer's body. */
  call<T = unknown>(method: string, ...params: Param[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The client reads its options synchronously inside methodCall: a per-call signal is safe to set here.
      (this.client.options as { signal?: AbortSignal }).signal = AbortSignal.timeout(this.timeoutMs);
      this.client.methodCall(method, [this.endpoint.session, ...params], (error: unknown, value: unknown) => {
        if (error) return reject(this.transportError(method, error));
        try {
          resolve(unpack<T>(method, value));
        } catch (failure) {
          reject(failure);
        }
      });
    });
  }

  private transportError(method: string, error: unknown): OneRpcError {
    const failure = error as Error & { code?: string | number; faultCode?: number; res?: { statusCode?: number } };
    if (failure.name === 'AbortError' || failure.code === 'ABORT_ERR') {
      return new OneRpcError(method, `${method}: oned at ${this.endpoint.url} did not answer within ${this.timeoutMs} ms`);
    }
    if (failure.faultCode !== undefined) return new OneRpcError(method, `${method}: ${failure.message}`, undefined);
    const status = failure.res?.statusCode;
    if (status !== undefined && status !== 200) return new OneRpcError(method, `${method}: oned at ${this.endpoint.url} answered HTTP ${status}`);
    return new OneRpcError(method, `${method}: cannot talk to oned at ${this.endpoint.url}: ${failure.message}`);
  }
}

function unpack<T>(method: string, value: unknown): T {
  if (!Array.isArray(value) || typeof value[0] !== 'boolean') {
    throw new OneRpcError(method, `${method}: oned's answer is not [success, body, code]`);
  }
  const [ok, body, code] = value as [boolean, unknown, unknown];
  if (ok) return body as T;
  const message = typeof body === 'string' ? body : `${method} failed`;
  const errorCode = typeof code === 'number' ? code : Number(code);
  if (errorCode === 0x4000 && /already taken/.test(message)) throw new OneNameTakenError(method, message, errorCode);
  throw new OneRpcError(method, message, Number.isFinite(errorCode) ? errorCode : undefined);
}
