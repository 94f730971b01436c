import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionKeeper } from '../drivers/core/connection-keeper.ts';
import { KeeperRefusal, openKeeper, readLine } from '../drivers/engine/keeper-protocol.ts';

// The connection keeper's socket and protocol, without any host: what it refuses, and what a client refuses of it.
const dirs: string[] = [];
/** A path in a new directory only we can enter (mkdtemp makes it 0700). */
const inFreshDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'dockvisor-keeper-'));
  dirs.push(dir);
  return join(dir, name);
};
test.after.always(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const unreachable = () => {
  throw new Error('no such host in this config');
};

async function started(version = '1+a', onStale: () => void = () => undefined) {
  const socket = inFreshDir('keeper.sock');
  const keeper = connectionKeeper(version, unreachable, onStale);
  await keeper.listen(socket);
  return { keeper, socket };
}

async function rawAnswer(socket: string, line: string): Promise<string> {
  const client = connect(socket);
  await new Promise((resolve) => client.once('connect', resolve));
  client.write(line);
  const answer = await readLine(client, 5000);
  client.destroy();
  return answer;
}

test('a keeper answers its own version, and tells another one it is stale and steps down', async (t) => {
  let stale = 0;
  const { keeper, socket } = await started('1+a', () => (stale += 1));
  try {
    (await openKeeper(socket, { open: 'hello', version: '1+a' }, 5000)).destroy();
    const refusal = await t.throwsAsync(openKeeper(socket, { open: 'hello', version: '2+b' }, 5000), { instanceOf: KeeperRefusal });
    t.true(refusal!.absent, 'the client does the work itself');
    t.regex(refusal!.message, /runs remotes 1\+a, not 2\+b/);
    t.is(stale, 1);
  } finally {
    await keeper.close();
  }
});

test('a request that is not the protocol, or a forward to anything but loopback, is refused with a reason', async (t) => {
  const { keeper, socket } = await started();
  try {
    t.regex(await rawAnswer(socket, 'GET / HTTP/1.1\n'), /"ok":false.*not a keeper request/);
    t.regex(await rawAnswer(socket, '{"version":"1+a","open":"engine","config":"relative.conf","host":"h"}\n'), /absolute path/);
    const forward = { version: '1+a', open: 'forward', config: '/c.conf', host: 'h', port: 5400, target: { host: '10.0.0.1', port: 5400 } };
    t.regex(await rawAnswer(socket, `${JSON.stringify(forward)}\n`), /unknown request/);
    t.regex(await rawAnswer(socket, '{"version":"1+a","open":"engine","config":"/c.conf","host":"h"}\n'), /no such host in this config/);
  } finally {
    await keeper.close();
  }
});

test('a client does not use a socket in a directory others can write to, nor a file that is not a socket', async (t) => {
  const { keeper, socket } = await started();
  try {
    chmodSync(join(socket, '..'), 0o777);
    const refusal = await t.throwsAsync(openKeeper(socket, { open: 'hello', version: '1+a' }, 5000), { instanceOf: KeeperRefusal });
    t.true(refusal!.absent);
    t.regex(refusal!.message, /can be written by others/);
    chmodSync(join(socket, '..'), 0o700);
  } finally {
    await keeper.close();
  }
  const plain = inFreshDir('not-a-socket');
  writeFileSync(plain, '');
  await t.throwsAsync(openKeeper(plain, { open: 'hello', version: '1+a' }, 5000), { instanceOf: KeeperRefusal, message: /not a socket/ });
});

test('a keeper does not start where another one answers, and takes the place of one that died', async (t) => {
  const { keeper, socket } = await started();
  try {
    await t.throwsAsync(connectionKeeper('1+a', unreachable, () => undefined).listen(socket), { message: /already answers/ });
  } finally {
    await keeper.close();
  }
  // A socket file nobody listens on any more (a killed keeper's): the next keeper replaces it.
  const dead = createServer();
  const left = inFreshDir('keeper.sock');
  await new Promise<void>((resolve) => dead.listen(left, resolve));
  const next = connectionKeeper('1+a', unreachable, () => undefined);
  await t.throwsAsync(next.listen(left), { message: /already answers/ }, 'a live listener is never taken over');
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  // What stays of a killed keeper: its socket file, bound and never closed, which nobody listens on.
  execFileSync('/usr/bin/python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', left]);
  await next.listen(left);
  (await openKeeper(left, { open: 'hello', version: '1+a' }, 5000)).destroy();
  await next.close();
  // Anything else at that path is not a keeper's to replace.
  writeFileSync(left, 'an admin file\n');
  await t.throwsAsync(connectionKeeper('1+a', unreachable, () => undefined).listen(left), { message: /is there and is not a socket; left alone/ });
  t.is(readFileSync(left, 'utf8'), 'an admin file\n');
});

test('a keeper that accepts and never answers is given up on within the time asked, as if absent', async (t) => {
  const socket = inFreshDir('keeper.sock');
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(socket, resolve));
  try {
    const refusal = await t.throwsAsync(openKeeper(socket, { open: 'hello', version: '1+a' }, 200), { instanceOf: KeeperRefusal });
    t.true(refusal!.absent);
    t.regex(refusal!.message, /no answer within 200 ms/);
  } finally {
    silent.close();
  }
});
