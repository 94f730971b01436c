import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { PrivateSocketServer } from '../streams/private-socket.ts';
import type { Duplex } from 'node:stream';
import { isAbsolute } from 'node:path';
import type { EngineEndpoint } from './endpoint.ts';
import { SshEngineDispatcher } from './ssh-exchange.ts';
import { MAX_LINE_BYTES, readLine, type KeeperAnswer, type KeeperRequest } from './keeper-protocol.ts';

/** How the keeper reaches `host` as the config at `config` says, and the time limit of its calls. */
export type KeeperHostResolver = (config: string, host: string) => { endpoint: Extract<EngineEndpoint, { kind: 'ssh' }>; timeoutMs: number };

const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
const REQUEST_TIMEOUT_MS = 10_000;

/** A remote forward shared by the actions that need the same port on the same host at once. */
interface SharedForward {
  target: string;
  users: number;
  /** Resolves to the function that drops it from the SSH connection. */
  opened: Promise<() => Promise<void>>;
}

/**
 * A connection keeper: one SSH connection per host (and per way of reaching it), kept for every action
 * of the front-end, on a unix socket in a directory only its user can enter. It serves the remotes of its own
 * version only: an action of other remotes (after an upgrade) is told `stale` and connects by itself, and the
 * keeper steps down (`onStale`) so that whatever supervises it starts the new one.
 */
export class ConnectionKeeper {
  private readonly hosts = new Map<string, SshEngineDispatcher>();
  private readonly forwards = new Map<string, SharedForward>();
  /** Per host, the engine channel opened ahead for the next action. */
  private readonly spares = new Map<string, Promise<Duplex>>();
  private readonly socket: PrivateSocketServer;
  /** Engine connections and forwards handed out so far. */
  readonly served = { engine: 0, forward: 0 };

  constructor(
    private readonly version: string,
    private readonly resolve: KeeperHostResolver,
    private readonly onStale: () => void = () => undefined,
  ) {
    this.socket = new PrivateSocketServer(
      'a connection keeper',
      (client) => void this.serve(client),
      () => Promise.all([...this.hosts.values()].map((host) => host.close())),
    );
  }

  /** Listens on `socketPath`; refuses when another keeper answers there, replaces a socket left by a dead one. */
  listen(socketPath: string): Promise<void> {
    return this.socket.listen(socketPath);
  }

  /** Settles once close() has finished. */
  get closed(): Promise<void> {
    return this.socket.closed;
  }

  /** Stops taking connections, lets the ones open finish (their actions keep their host connection), then ends. */
  close(): Promise<void> {
    return this.socket.close();
  }

  private async serve(client: Socket): Promise<void> {
    client.on('error', () => client.destroy());
    let request: KeeperRequest;
    try {
      request = parseRequest(await readLine(client, REQUEST_TIMEOUT_MS));
    } catch (error) {
      return answer(client, { ok: false, error: `not a keeper request: ${(error as Error).message}` }, true);
    }
    if (request.version !== this.version) {
      answer(client, { ok: false, stale: true, error: `the connection keeper runs remotes ${this.version}, not ${request.version}` }, true);
      return this.onStale();
    }
    if (request.open === 'hello') return answer(client, { ok: true }, true);
    try {
      const host = this.dispatcherFor(request.config, request.host);
      if (request.open === 'engine') {
        const channel = await this.channelTo(host.id, host.dispatcher);
        if (client.destroyed) return void channel.destroy(); // the action died while its channel was opening
        this.served.engine += 1;
        answer(client, { ok: true });
        channel.on('error', () => client.destroy());
        client.on('close', () => channel.destroy());
        channel.on('close', () => client.destroy());
        client.pipe(channel).pipe(client);
        return;
      }
      const release = await this.shareForward(host.id, host.dispatcher, request.port, request.target);
      if (client.destroyed) return void release();
      this.served.forward += 1;
      answer(client, { ok: true });
      client.resume();
      // The client ends its side (or dies): the forward is dropped before the keeper closes, so the port is free again.
      client.once('close', () => void release());
      client.once('end', () => void release().finally(() => client.end()));
    } catch (error) {
      answer(client, { ok: false, error: (error as Error).message }, true);
    }
  }

  /** The SSH connection for `host` as `config` says to reach it; a changed config (address, key, port) gets a new one. */
  private dispatcherFor(config: string, host: string): { id: string; dispatcher: SshEngineDispatcher } {
    const { endpoint, timeoutMs } = this.resolve(config, host);
    const key = endpoint.privateKey;
    const id = createHash('sha256')
      .update(JSON.stringify({ ...endpoint, privateKey: key === undefined ? undefined : createHash('sha256').update(key).digest('hex') }))
      .digest('hex');
    let dispatcher = this.hosts.get(id);
    if (!dispatcher) {
      dispatcher = new SshEngineDispatcher(endpoint, timeoutMs);
      this.hosts.set(id, dispatcher);
    }
    return { id, dispatcher };
  }

  /**
   * A stream to the host's engine socket: one opened ahead for the next action when there is one, so that an
   * action's first call does not wait for the channel to open; another is opened ahead for the one after.
   */
  private async channelTo(id: string, host: SshEngineDispatcher): Promise<Duplex> {
    const spare = this.spares.get(id);
    this.spares.delete(id);
    const ready = spare && (await spare.catch(() => undefined));
    // One the engine or the SSH connection closed meanwhile is not handed out.
    const channel = ready && !ready.destroyed && ready.writable && !ready.readableEnded ? ready : await host.openEngineChannel();
    const next = host.openEngineChannel();
    this.spares.set(id, next);
    next.catch(() => this.spares.get(id) === next && this.spares.delete(id));
    return channel;
  }

  private async shareForward(id: string, host: SshEngineDispatcher, port: number, target: { host: string; port: number }): Promise<() => Promise<void>> {
    const key = `${id}:${port}`;
    const wanted = `${target.host}:${target.port}`;
    let shared = this.forwards.get(key);
    if (shared && shared.target !== wanted) throw new Error(`port ${port} on the host is forwarded to ${shared.target} by another action`);
    if (!shared) {
      shared = { target: wanted, users: 0, opened: host.forwardRemotePort(port, target) };
      this.forwards.set(key, shared);
      shared.opened.catch(() => this.forwards.delete(key));
    }
    shared.users += 1;
    const mine = shared;
    try {
      await mine.opened;
    } catch (error) {
      mine.users -= 1;
      throw error;
    }
    let released: Promise<void> | undefined;
    return () =>
      (released ??= (async () => {
        mine.users -= 1;
        if (mine.users > 0) return;
        if (this.forwards.get(key) === mine) this.forwards.delete(key);
        await (await mine.opened)().catch(() => undefined);
      })());
  }
}

function answer(client: Socket, what: KeeperAnswer, end = false): void {
  const line = `${JSON.stringify(what)}\n`;
  if (end) client.end(line);
  else client.write(line);
}

function parseRequest(line: string): KeeperRequest {
  if (Buffer.byteLength(line) > MAX_LINE_BYTES) throw new Error('too long');
  const value = JSON.parse(line) as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || typeof value.version !== 'string') throw new Error('no version');
  if (value.open === 'hello') return { open: 'hello', version: value.version };
  const { config, host } = value;
  if (typeof config !== 'string' || !isAbsolute(config)) throw new Error('config must be an absolute path');
  if (typeof host !== 'string' || !HOST.test(host)) throw new Error('host must be a host name or address');
  if (value.open === 'engine') return { open: 'engine', version: value.version, config, host };
  const target = value.target as Record<string, unknown> | undefined;
  // Forwards lead back to this machine's loopback only (the front-end's registries), never elsewhere.
  if (value.open === 'forward' && isPort(value.port) && (target?.host === '127.0.0.1' || target?.host === '::1') && isPort(target.port)) {
    return { open: 'forward', version: value.version, config, host, port: value.port, target: { host: target.host, port: target.port } };
  }
  throw new Error('unknown request');
}

const isPort = (value: unknown): value is number => Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536;
