import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { Client as SshClient } from 'ssh2';
import { EngineError, EngineUnreachableError } from './engine-errors.ts';
import { checkHostKey, presentedHostKey } from '../ssh/known-hosts.ts';
import type { EngineEndpoint } from './endpoint.ts';
import { ChannelExchange, ChannelPool } from './channel-exchange.ts';

type SshEndpoint = Extract<EngineEndpoint, { kind: 'ssh' }>;

/**
 * One SSH connection per remote host; every HTTP connection of the pool is a streamlocal channel
 * forwarded to the engine socket. When the SSH connection closes, the pool fails so that in-flight
 * calls fail at once, with the reason, instead of hanging; the next call opens a new connection.
 */
export class SshEngineDispatcher {
  private pool: ChannelPool | undefined;
  private ssh: Promise<SshClient> | undefined;

  constructor(
    private readonly endpoint: SshEndpoint,
    private readonly connectTimeoutMs: number,
    private readonly connections = 16,
  ) {}

  current(): ChannelPool {
    if (this.pool && !this.pool.failed) return this.pool;
    this.pool = new ChannelPool(() => this.openEngineChannel(), this.connections);
    return this.pool;
  }

  async close(): Promise<void> {
    const ssh = this.ssh;
    this.ssh = undefined;
    this.pool?.fail(new EngineUnreachableError(`the connection to the engine on ${this.endpoint.host} was closed`));
    if (ssh) (await ssh.catch(() => undefined))?.end();
  }

  private connection(): Promise<SshClient> {
    if (this.ssh) return this.ssh;
    const { host, port, username, privateKey, agent, hostKeySha256, knownHostsFile } = this.endpoint;
    const attempt = new Promise<SshClient>((resolve, reject) => {
      const client = new SshClient();
      // Why the connection ended, for the calls the closing pool fails (a refused host key, not just "closed").
      let failure: EngineError | undefined;
      const timer = setTimeout(() => {
        failure ??= new EngineUnreachableError(`SSH connection to ${host}:${port} timed out after ${this.connectTimeoutMs} ms`);
        reject(failure);
        client.destroy();
      }, this.connectTimeoutMs);
      client.once('ready', () => {
        clearTimeout(timer);
        // Engine calls are small request/answer exchanges: without this, Nagle's algorithm holds a request's
        // last segment until the previous one is acknowledged, and a delayed acknowledgement costs 40 ms a call.
        client.setNoDelay(true);
        resolve(client);
      });
      // `on`, not `once`: ssh2 can emit a second error (e.g. a reset after a protocol error), and an
      // unheard 'error' event would crash the process. Any error ends this connection for good.
      client.on('error', (error) => {
        clearTimeout(timer);
        failure ??= new EngineUnreachableError(`SSH connection to ${host}:${port} failed: ${error.message}`);
        reject(failure);
        client.destroy();
      });
      client.once('close', () => {
        clearTimeout(timer);
        if (this.ssh === attempt) this.ssh = undefined;
        const pool = this.pool;
        this.pool = undefined;
        pool?.fail(failure ?? new EngineUnreachableError(`SSH connection to ${host}:${port} closed`));
      });
      client.connect({
        host,
        port,
        username,
        ...(privateKey ? { privateKey } : { agent }),
        readyTimeout: this.connectTimeoutMs,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const refusal = hostKeyRefusal(key, hostKeySha256, knownHostsFile, host, port);
          if (refusal) failure ??= new EngineError(refusal);
          return refusal === undefined;
        },
      });
    });
    this.ssh = attempt;
    attempt.catch(() => {
      if (this.ssh === attempt) this.ssh = undefined;
    });
    return attempt;
  }

  /** A remote forward on this SSH connection: connections to the host's 127.0.0.1:`port` reach `target` from here. */
  async forwardRemotePort(port: number, target: { host: string; port: number }): Promise<() => Promise<void>> {
    const ssh = await this.connection();
    const bindAddress = '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      ssh.forwardIn(bindAddress, port, (error) => {
        if (error) reject(new EngineError(`cannot open port ${port} on ${this.endpoint.host}'s loopback through SSH: ${error.message}`));
        else resolve();
      });
    });
    const onConnection = (info: { destIP: string; destPort: number }, accept: () => NodeJS.ReadWriteStream & { destroy(): void }) => {
      if (info.destPort !== port) return;
      const channel = accept();
      const socket = netConnect(target.port, target.host);
      channel.pipe(socket).pipe(channel);
      socket.on('error', () => channel.destroy());
      channel.on('error', () => socket.destroy());
      channel.on('close', () => socket.destroy());
    };
    ssh.on('tcp connection', onConnection as never);
    return async () => {
      ssh.off('tcp connection', onConnection as never);
      await new Promise<void>((resolve) => ssh.unforwardIn(bindAddress, port, () => resolve()));
    };
  }

  /** A new stream to the engine's socket on the host, over the one SSH connection. */
  async openEngineChannel(): Promise<Duplex> {
    const ssh = await this.connection();
    return new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => reject(new EngineUnreachableError(`opening the engine socket on ${this.endpoint.host} timed out`)), this.connectTimeoutMs);
      ssh.openssh_forwardOutStreamLocal(this.endpoint.socketPath, (error, channel) => {
        clearTimeout(timer);
        if (error) reject(new EngineUnreachableError(`cannot reach the engine socket ${this.endpoint.socketPath} on ${this.endpoint.host}: ${error.message}`));
        else resolve(channel);
      });
    });
  }
}

/** Why a presented host key is not accepted: a pinned fingerprint, else known_hosts; neither given means unchecked. */
function hostKeyRefusal(key: Buffer, sha256: string | undefined, knownHostsFile: string | undefined, host: string, port: number): string | undefined {
  const presented = createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
  if (sha256) {
    return presented === sha256.replace(/^SHA256:/, '').replace(/=+$/, '')
      ? undefined
      : `the host key of ${host}:${port} (SHA256:${presented}) is not the one expected; refused`;
  }
  if (!knownHostsFile) return undefined;
  let verdict: string;
  try {
    verdict = checkHostKey(knownHostsFile, host, port, presentedHostKey(key)).kind;
  } catch (error) {
    return `the host key of ${host}:${port} cannot be checked: ${(error as Error).message}`;
  }
  if (verdict === 'known') return undefined;
  return verdict === 'unknown'
    ? `the host key of ${host}:${port} (SHA256:${presented}) is not in ${knownHostsFile}; add it (ssh-keyscan, or one ssh login) or pin hostKeySha256`
    : `the host key of ${host}:${port} (SHA256:${presented}) is ${verdict} in ${knownHostsFile}; refused`;
}

/** An exchange that carries engine requests over one SSH connection to a remote host. */
export function sshExchange(endpoint: SshEndpoint, connectTimeoutMs: number): ChannelExchange {
  const dispatcher = new SshEngineDispatcher(endpoint, connectTimeoutMs);
  const exchange = new ChannelExchange(
    () => dispatcher.current(),
    () => dispatcher.close(),
  );
  exchange.forwardRemotePort = (port, target) => dispatcher.forwardRemotePort(port, target);
  return exchange;
}
