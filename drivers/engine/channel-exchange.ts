import http, { type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import { stallGuard, type StallWatch } from '../streams/stall-timer.ts';
import { HttpTimeoutError, type HttpAnswer, type HttpExchange, type HttpRequest, type HttpStreamAnswer } from './http-exchange.ts';

/**
 * Keep-alive HTTP connections to one engine, each a channel some other party opens (a stream forwarded over
 * SSH, or in tests the engine socket itself): at most `connections` at once, the requests beyond that wait
 * their turn. `fail(error)` ends the pool: every request it carries or holds waiting fails with that error.
 */
export class ChannelPool extends http.Agent {
  private readonly carried = new Set<(error: Error) => void>();
  private failure: Error | undefined;

  constructor(
    private readonly openChannel: () => Promise<Duplex>,
    connections = 16,
  ) {
    super({ keepAlive: true, maxSockets: connections });
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  override createConnection(_options: ClientRequestArgs, callback?: (error: Error | null, channel: Duplex) => void): undefined {
    this.openChannel().then(
      (channel) => callback?.(null, asConnection(channel)),
      (error: Error) => callback?.(error, undefined as unknown as Duplex),
    );
    return undefined;
  }

  /** Counts a request in until the returned function is called; `fail` is how the pool ends it early. */
  carry(fail: (error: Error) => void): () => void {
    if (this.failure) {
      fail(this.failure);
      return () => undefined;
    }
    this.carried.add(fail);
    return () => this.carried.delete(fail);
  }

  fail(error: Error): void {
    this.failure ??= error;
    const carried = [...this.carried];
    this.carried.clear();
    for (const fail of carried) fail(error);
    this.destroy();
  }
}

/** Requests through a ChannelPool: the SSH-forwarded engine socket, or the local socket in tests. */
export class ChannelExchange implements HttpExchange {
  forwardRemotePort?: HttpExchange['forwardRemotePort'];

  constructor(
    private readonly pool: () => ChannelPool,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  /** The whole exchange, from waiting for a channel to the last byte of the answer, is bounded by the timeout. */
  send(request: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const pool = this.pool();
      const req = this.request(pool, request);
      let done = false;
      const settle = () => {
        done = true;
        clearTimeout(timer);
        release();
      };
      const fail = (error: Error) => {
        if (done) return;
        settle();
        req.destroy(error);
        reject(error);
      };
      const timer = setTimeout(() => fail(new HttpTimeoutError(request.timeoutMs)), request.timeoutMs);
      const release = pool.carry(fail);
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          if (done) return;
          settle();
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: bytes.toString('utf8'), bytes });
        });
      });
      writeBody(req, request.body, fail);
    });
  }

  /**
   * The answer's headers must come within the timeout; the body then streams on for as long as it flows, and
   * only a stall longer than the timeout (the engine silent, not the reader holding back) ends it.
   */
  open(request: HttpRequest): Promise<HttpStreamAnswer> {
    return new Promise((resolve, reject) => {
      const pool = this.pool();
      const req = this.request(pool, request);
      const watch: StallWatch = {};
      const stall = stallGuard(req, watch, request.timeoutMs, {
        timedOut: () => new HttpTimeoutError(request.timeoutMs),
        reject,
        onSettle: () => release(),
      });
      const { settle, fail } = stall;
      const release = pool.carry(fail);
      req.on('error', fail);
      req.on('response', (res) => {
        watch.answer = res;
        watch.connection = res.socket ?? undefined;
        stall.flowing();
        watch.connection?.on('data', stall.flowing);
        res.on('error', fail);
        res.on('end', settle);
        res.on('close', settle);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      writeBody(req, request.body, fail);
    });
  }

  private request(pool: ChannelPool, request: HttpRequest): ClientRequest {
    return http.request({ agent: pool, method: request.method, path: request.path, headers: { host: 'docker', ...request.headers } });
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

function writeBody(req: ClientRequest, body: HttpRequest['body'], fail: (error: Error) => void): void {
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    req.end(body);
    return;
  }
  const stream = body as Readable;
  stream.once('error', fail);
  stream.pipe(req);
}

/**
 * A channel as Node's HTTP client wants a connection. ssh2's destroy() only closes the channel and leaves it
 * `destroyed: false`, which is how an Agent tells a dead connection from a free one: here it is destroyed as a
 * stream too. It is closed once the engine has closed its side (a forwarded channel stays half-open otherwise,
 * and the pool would hand it out again), and has the socket's knobs the client asks for.
 */
function asConnection(channel: Duplex): Duplex {
  const closeChannel = channel.destroy.bind(channel);
  channel.destroy = (error?: Error) => {
    if (channel.destroyed) return channel;
    closeChannel(error);
    return channel.destroyed ? channel : Duplex.prototype.destroy.call(channel, error);
  };
  channel.once('end', () => channel.destroy());
  const socket = channel as Duplex & Partial<Pick<Socket, 'setKeepAlive' | 'setNoDelay' | 'setTimeout' | 'ref' | 'unref'>>;
  socket.setKeepAlive ??= () => socket as Socket;
  socket.setNoDelay ??= () => socket as Socket;
  socket.setTimeout ??= () => socket as Socket;
  socket.ref ??= () => socket as Socket;
  socket.unref ??= () => socket as Socket;
  return socket;
}
