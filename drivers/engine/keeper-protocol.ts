import { lstatSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';

/**
 * The connection keeper's wire protocol: on a unix socket only its own user can reach, a client writes one
 * JSON line (a KeeperRequest) and reads one JSON line (a KeeperAnswer); after `ok`, an `engine` connection
 * carries the bytes of the host's engine socket, and a `forward` connection holds a remote port forward until
 * the client ends it.
 */
export interface KeeperRoute {
  /** The keeper's unix socket. */
  socketPath: string;
  /** The version of the remotes the client runs (remotes/VERSION); a keeper of another version answers `stale`. */
  version: string;
  /** The transfer config the keeper reads the host's SSH settings from, and the host's name in it. */
  config: string;
  host: string;
}

export type KeeperRequest =
  | { open: 'hello'; version: string }
  | { open: 'engine'; version: string; config: string; host: string }
  | { open: 'forward'; version: string; config: string; host: string; port: number; target: { host: string; port: number } };

export interface KeeperAnswer {
  ok: boolean;
  /** The keeper runs other remotes than the client: the client does the work itself. */
  stale?: boolean;
  error?: string;
}

/** Longest request or answer line; anything longer is not the protocol. */
export const MAX_LINE_BYTES = 64 * 1024;

/** Why a socket is not to be trusted as our own keeper's: another user's socket, or in a directory others can write to. */
export function untrustedSocket(path: string): string | undefined {
  const uid = process.getuid?.();
  try {
    const socket = lstatSync(path);
    const dir = statSync(dirname(path));
    if (!socket.isSocket()) return `${path} is not a socket`;
    if (uid !== undefined && (socket.uid !== uid || dir.uid !== uid)) return `${path} belongs to another user`;
    if (dir.mode & 0o022) return `${dirname(path)} can be written by others`;
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/** Reads one line of at most MAX_LINE_BYTES from `socket`, putting back whatever follows it. */
export function readLine(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | undefined, line?: string, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', finish);
      if (rest?.length) socket.unshift(rest);
      if (error) reject(error);
      else resolve(line!);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(10);
      if (end >= 0) return finish(undefined, buffered.subarray(0, end).toString('utf8'), buffered.subarray(end + 1));
      if (buffered.length > MAX_LINE_BYTES) finish(new Error('line too long'));
    };
    const onEnd = () => finish(new Error('closed before a whole line'));
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', finish);
  });
}

/** Connects to the keeper, sends `request` and returns the socket once the keeper said yes; else throws KeeperRefusal. */
export async function openKeeper(socketPath: string, request: KeeperRequest, timeoutMs: number): Promise<Socket> {
  const untrusted = untrustedSocket(socketPath);
  if (untrusted) throw new KeeperRefusal(`connection keeper not used: ${untrusted}`, true);
  const socket = connect(socketPath);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(`${JSON.stringify(request)}\n`);
    const answer = JSON.parse(await readLine(socket, timeoutMs)) as KeeperAnswer;
    if (!answer.ok) throw new KeeperRefusal(answer.error ?? 'refused', answer.stale === true);
    return socket;
  } catch (error) {
    socket.destroy();
    if (error instanceof KeeperRefusal) throw error;
    throw new KeeperRefusal(`connection keeper at ${socketPath}: ${(error as Error).message}`, true);
  }
}

/** The keeper said no, or is not there (`absent`: no keeper, a stale one, or one that cannot be trusted). */
export class KeeperRefusal extends Error {
  constructor(
    message: string,
    readonly absent: boolean,
  ) {
    super(message);
    this.name = 'KeeperRefusal';
  }
}
