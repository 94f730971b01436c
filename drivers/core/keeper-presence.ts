import { lstatSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLine, type KeeperAnswer } from '../engine/keeper-protocol.ts';
import { acceptsConnections } from '../streams/private-socket.ts';

/**
 * What is at a keeper's socket, asked as a transfer action of remotes `version` asks: `same` (our keeper of that
 * version, left running), `stale` (our keeper of other remotes, which steps down on this very question), `none`
 * (nothing, or a socket nothing listens on, which a new keeper replaces), or `foreign`: not to be touched.
 */
export type AtSocket = { state: 'same' | 'stale' | 'none' } | { state: 'foreign'; why: string };

const ANSWER_TIMEOUT_MS = 3000;

/** `uid`: the keeper's user, who alone may own the socket and its directory for it to be ours. */
export async function askKeeper(socket: string, uid: number, version: string): Promise<AtSocket> {
  const untrusted = untrustedBy(socket, uid);
  if (untrusted === 'absent') return { state: 'none' };
  if (untrusted) return { state: 'foreign', why: untrusted };
  const client = connect(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
  } catch (error) {
    client.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return { state: 'none' };
    return { state: 'foreign', why: `${socket}: ${(error as Error).message}` };
  }
  try {
    client.write(`${JSON.stringify({ open: 'hello', version })}\n`);
    const answer = JSON.parse(await readLine(client, ANSWER_TIMEOUT_MS)) as KeeperAnswer;
    if (answer.ok === true) return { state: 'same' };
    if (answer.stale === true) return { state: 'stale' };
    return { state: 'foreign', why: `${socket} answers, but not as a connection keeper (${String(answer.error)})` };
  } catch (error) {
    return { state: 'foreign', why: `${socket} does not answer as a connection keeper (${(error as Error).message})` };
  } finally {
    client.destroy();
  }
}

/** Waits until nothing takes connections at `socket` (a keeper that stepped down); false when one still does. */
export async function waitUntilClosed(socket: string, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) if (!(await acceptsConnections(socket))) return true;
  return false;
}

/** Waits until our keeper of `version` answers at `socket`; the last thing found there. */
export async function waitUntilServing(socket: string, uid: number, version: string, timeoutMs: number, gone: () => boolean): Promise<AtSocket> {
  let found: AtSocket = { state: 'none' };
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && !gone(); await sleep(50)) {
    found = await askKeeper(socket, uid, version);
    if (found.state === 'same') return found;
  }
  return found;
}

/** `absent` when nothing is at `socket`; why it is not our keeper's when it cannot be; undefined when it may be. */
function untrustedBy(socket: string, uid: number): string | undefined {
  let entry;
  try {
    entry = lstatSync(socket);
  } catch {
    return 'absent';
  }
  if (!entry.isSocket()) return `${socket} is not a socket`;
  if (entry.uid !== uid) return `${socket} belongs to uid ${entry.uid}, not the keeper's user (uid ${uid})`;
  const dir = statSync(dirname(socket));
  if (dir.uid !== uid) return `${dirname(socket)} belongs to uid ${dir.uid}, not the keeper's user (uid ${uid})`;
  if (dir.mode & 0o022) return `${dirname(socket)} can be written by others`;
  return undefined;
}
