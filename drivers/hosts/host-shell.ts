import type { ClientChannel } from 'ssh2';
import { connectToHost } from './host-connection.ts';
import type { HostRecord } from './host-store.ts';

/**
 * `dockvisor host ssh`: runs a command on the host (its words joined by spaces, as OpenSSH's client does)
 * or, without one, an interactive shell (with a terminal when stdin is one). Resolves with the remote exit code.
 */
export async function sshIntoHost(record: HostRecord, words: string[]): Promise<number> {
  const session = await connectToHost(record);
  const ssh = session.connection;
  const interactive = words.length === 0;
  const tty = interactive && process.stdin.isTTY === true;
  try {
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      const done = (error: Error | undefined, opened: ClientChannel) => (error ? reject(error) : resolve(opened));
      if (!interactive) ssh.exec(words.join(' '), done);
      else if (tty) ssh.shell({ term: process.env.TERM ?? 'xterm', rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 }, done);
      else ssh.shell(false, done);
    });
    const resize = () => channel.setWindow(process.stdout.rows ?? 24, process.stdout.columns ?? 80, 0, 0);
    if (tty) {
      process.stdin.setRawMode(true);
      process.stdout.on('resize', resize);
    }
    channel.pipe(process.stdout, { end: false });
    channel.stderr.pipe(process.stderr, { end: false });
    process.stdin.pipe(channel);
    return await new Promise<number>((resolve) => {
      channel.on('close', (code: number | null, signal?: string) => {
        process.stdin.unpipe(channel);
        process.stdin.pause();
        if (tty) {
          process.stdin.setRawMode(false);
          process.stdout.off('resize', resize);
        }
        resolve(code ?? (signal ? 255 : 0));
      });
    });
  } finally {
    session.close();
  }
}
