import type { Duplex } from 'node:stream';

/** One HTTP request to an engine and its whole answer; how it travels is the exchange's business. */
export interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer | NodeJS.ReadableStream;
  timeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body as received, for the few answers that are not text (multiplexed logs). */
  bytes?: Buffer;
}

/** An answer whose body is read as it arrives (a tar archive), instead of collected as text. */
export interface HttpStreamAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: NodeJS.ReadableStream;
}

export interface HttpExchange {
  send(request: HttpRequest): Promise<HttpAnswer>;
  /** Like send, but the body is handed over unread; the timeout covers the answer's headers only. */
  open(request: HttpRequest): Promise<HttpStreamAnswer>;
  /**
   * Sends the request asking to take the connection over (`Upgrade: tcp`, as the engine's attach and exec
   * start want it): on 101 the connection itself, else the answer. Only the local socket's exchange has it.
   */
  upgrade?(request: HttpRequest): Promise<{ status: number; text: string; connection?: Duplex }>;
  /** Present on exchanges that reach a remote host (see EngineTransport.forwardRemotePort). */
  forwardRemotePort?(port: number, target: { host: string; port: number }): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Raised when the engine did not answer in time, so callers can say so plainly. */
export class HttpTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'HttpTimeoutError';
  }
}
