import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

/**
 * Has `server` listen on the unix socket `socketPath` in a directory only this process's user can enter (made
 * 0700 when missing; refused when it belongs to another user), so that only that user's processes reach it.
 * Refuses when something already answers there (`what` names the kind of server for that error); replaces a
 * socket left by a dead one.
 */
async function listenPrivately(server: Server, socketPath: string, what: string): Promise<void> {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const owner = lstatSync(dir);
  if (owner.uid !== process.getuid?.()) throw new Error(`${dir} belongs to another user`);
  chmodSync(dir, 0o700);
  if (await acceptsConnections(socketPath)) throw new Error(`${what} already answers on ${socketPath}`);
  // Only a socket a dead server left is replaced; anything else at that path is not ours to remove.
  const left = lstatSync(socketPath, { throwIfNoEntry: false });
  if (left && !left.isSocket()) throw new Error(`${socketPath} is there and is not a socket; left alone`);
  if (left) unlinkSync(socketPath);
  const umask = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  // A failed accept (out of file descriptors) is the one client's; the resident server goes on.
  server.on('error', () => undefined);
}

/** Whether something accepts connections on `socketPath`. */
export function acceptsConnections(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * A resident server on a private socket (listenPrivately) that stops once, whoever asks first: it takes no more
 * connections, waits for `drain` (what the open ones still do), then `closed` settles.
 */
export class PrivateSocketServer {
  private readonly server: Server;
  private closing: Promise<void> | undefined;
  private markClosed: () => void = () => undefined;
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(
    private readonly what: string,
    onConnection: (socket: Socket) => void,
    private readonly drain: () => Promise<unknown>,
  ) {
    this.server = createServer(onConnection);
  }

  listen(socketPath: string): Promise<void> {
    return listenPrivately(this.server, socketPath, this.what);
  }

  get stopping(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await this.drain();
      this.markClosed();
    })();
    return this.closing;
  }
}
