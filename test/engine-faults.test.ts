import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import { EngineConflictError, EngineError, EngineNotFoundError } from '../drivers/engine/engine-errors.ts';
import type { HttpExchange } from '../drivers/engine/http-exchange.ts';
import { ChannelExchange, ChannelPool } from '../drivers/engine/channel-exchange.ts';
import { stateDir } from './helpers/paths.ts';

// The engine client against a fake Docker API on a unix socket that misbehaves on request. Each fault is tried
// with both exchanges: Node's http client (the local socket) and the channel pool (the one SSH channels feed).

const TIMEOUT_MS = 300;

interface FakeEngine {
  socketPath: string;
  /** Request paths as the fake saw them, in order. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * GET /_ping answers Api-Version `engineApi` (1.41 by default); other routes are chosen by the last path
 * segment. Paths at another version are refused the way a newer engine refuses an old client.
 */
async function startFakeEngine(name: string, engineApi = '1.41'): Promise<FakeEngine> {
  mkdirSync(stateDir, { recursive: true });
  const socketPath = join(stateDir, `fake-engine-${process.pid}-${name}.sock`);
  rmSync(socketPath, { force: true });
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    seen.push(url.pathname);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/_ping') {
      res.writeHead(200, { 'api-version': engineApi, 'content-type': 'text/plain' });
      res.end('OK');
      return;
    }
    const version = /^\/v(1\.\d+)\//.exec(url.pathname)?.[1];
    if (!version) return json(400, { message: `unversioned path ${url.pathname}` });
    if (version !== engineApi) {
      return json(400, {
        message: `client version ${version} is too old. Minimum supported API version is ${engineApi}, please upgrade your client to a newer version`,
      });
    }
    const route = url.pathname.split('/').at(-1);
    switch (route) {
      case 'hang':
        return; // never answers
      case 'hang-body':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"Id":');
        return; // the rest never comes
      case 'cut-body':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"Id":', () => req.socket.destroy());
        return;
      case 'truncated':
        // No length and no chunks: the body ends where the connection does, so the client cannot tell it is cut.
        req.socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"Id":"trunc');
        return;
      case 'not-json':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'cut-head':
        req.socket.destroy();
        return;
      case 'boom':
        return json(500, { message: 'boom' });
      case 'conflict':
        return json(409, { message: 'Conflict. The container name "/x" is already in use' });
      case 'missing':
        return json(404, { message: 'No such container: x' });
      default:
        return json(200, { Id: route });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}

const exchanges: Record<string, (socketPath: string) => HttpExchange | undefined> = {
  'node http': () => undefined, // the client's own exchange for a unix endpoint
  'channel pool': (socketPath) => {
    const pool = new ChannelPool(
      () =>
        new Promise((resolve, reject) => {
          const socket = connect(socketPath, () => resolve(socket)).once('error', reject);
        }),
      16,
    );
    return new ChannelExchange(
      () => pool,
      async () => pool.destroy(),
    );
  },
};

async function setup(
  t: { teardown(fn: () => unknown): void },
  name: string,
  exchange: (socketPath: string) => HttpExchange | undefined,
  timeoutMs = TIMEOUT_MS,
  engineApi = '1.41',
) {
  const fake = await startFakeEngine(name, engineApi);
  const engine = new EngineClient({ kind: 'unix', socketPath: fake.socketPath }, { timeoutMs, exchange: exchange(fake.socketPath) });
  t.teardown(async () => {
    await engine.close();
    await fake.close();
  });
  return { fake, engine };
}

const get = (engine: EngineClient, route: string) =>
  engine.transport.json<{ Id: string }>({ method: 'GET', path: `/containers/${route}`, expect: [200], subject: `container ${route}` });

// Serial: the assertions on elapsed time should not depend on what other tests of this file are doing.
let serial = 0;
for (const [label, exchange] of Object.entries(exchanges)) {
  test.serial(`${label}: negotiates 1.41 through /_ping and prefixes later paths with it`, async (t) => {
    const { fake, engine } = await setup(t, `${serial++}`, exchange);
    t.is(await engine.transport.negotiatedVersion(), '1.41');
    t.deepEqual(await get(engine, 'fine'), { Id: 'fine' });
    t.deepEqual(fake.seen, ['/_ping', '/v1.41/containers/fine']);
  });

  test.serial(`${label}: calls go out at 1.41 with no round trip first`, async (t) => {
    const { fake, engine } = await setup(t, `${serial++}`, exchange);
    t.deepEqual(await get(engine, 'fine'), { Id: 'fine' });
    t.deepEqual(fake.seen, ['/v1.41/containers/fine']);
  });

  test.serial(`${label}: an engine that refuses 1.41 is negotiated with, once`, async (t) => {
    const { fake, engine } = await setup(t, `${serial++}`, exchange, TIMEOUT_MS, '1.44');
    t.deepEqual(await get(engine, 'first'), { Id: 'first' });
    t.deepEqual(await get(engine, 'second'), { Id: 'second' });
    t.deepEqual(fake.seen, ['/v1.41/containers/first', '/_ping', '/v1.44/containers/first', '/v1.44/containers/second']);
  });

  test.serial(`${label}: an engine that never answers fails the call within the timeout`, async (t) => {
    const { engine } = await setup(t, `${serial++}`, exchange);
    await engine.transport.negotiatedVersion();
    for (const route of ['hang', 'hang-body']) {
      const started = performance.now();
      const error = await t.throwsAsync(get(engine, route), { instanceOf: EngineError });
      const elapsed = performance.now() - started;
      t.regex(error!.message, new RegExp(`^container ${route}: engine at .* did not answer within ${TIMEOUT_MS} ms$`));
      t.true(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 1500, `${route} failed after ${elapsed.toFixed(0)} ms`);
    }
    t.deepEqual(await get(engine, 'after-hang'), { Id: 'after-hang' }, 'the client still works');
  });

  test.serial(`${label}: a 500 is an EngineError carrying the status and the engine's message`, async (t) => {
    const { engine } = await setup(t, `${serial++}`, exchange);
    const error = await t.throwsAsync(get(engine, 'boom'), { instanceOf: EngineError });
    t.false(error instanceof EngineNotFoundError || error instanceof EngineConflictError);
    t.is(error!.status, 500);
    t.regex(error!.message, /500/);
    t.regex(error!.message, /boom/);
    t.is(error!.message, 'container boom: engine answered 500: boom');
  });

  test.serial(`${label}: a connection cut mid-response is a clear EngineError and the next call succeeds`, async (t) => {
    const { engine } = await setup(t, `${serial++}`, exchange);
    await engine.transport.negotiatedVersion();
    for (const route of ['cut-body', 'cut-head']) {
      const started = performance.now();
      const error = await t.throwsAsync(get(engine, route), { instanceOf: EngineError });
      t.regex(error!.message, new RegExp(`^container ${route}: cannot reach the engine at .*fake-engine.*: \\S`));
      t.true(performance.now() - started < TIMEOUT_MS, 'fails at once, not by the timeout');
      t.deepEqual(await get(engine, `after-${route}`), { Id: `after-${route}` });
    }
  });

  test.serial(`${label}: a 200 whose body is not JSON (truncated, or from something else) is an EngineError`, async (t) => {
    const { engine } = await setup(t, `${serial++}`, exchange);
    for (const route of ['truncated', 'not-json']) {
      const error = await t.throwsAsync(get(engine, route), { instanceOf: EngineError });
      t.regex(error!.message, new RegExp(`^container ${route}: the engine at .* answered 200 with a body that is not JSON: `));
    }
    t.deepEqual(await get(engine, 'after-garbage'), { Id: 'after-garbage' });
  });

  test.serial(`${label}: 409 is an EngineConflictError, 404 an EngineNotFoundError`, async (t) => {
    const { engine } = await setup(t, `${serial++}`, exchange);
    const conflict = await t.throwsAsync(get(engine, 'conflict'), { instanceOf: EngineConflictError });
    t.is(conflict!.status, 409);
    t.regex(conflict!.message, /^container conflict: Conflict\. The container name "\/x" is already in use$/);
    const missing = await t.throwsAsync(get(engine, 'missing'), { instanceOf: EngineNotFoundError });
    t.is(missing!.message, 'container missing not found (No such container: x)');
  });

  test.serial(`${label}: concurrent calls with faults among them each get their own outcome`, async (t) => {
    // A longer timeout here: calls queued behind the hanging ones count their wait against it.
    const { engine } = await setup(t, `${serial++}`, exchange, 3000);
    const routes = Array.from({ length: 40 }, (_, i) => ['ok', 'boom', 'cut-body', 'conflict', 'hang'][i % 5]! + `-${i}`);
    const outcomes = await Promise.allSettled(routes.map((r) => get(engine, r.startsWith('ok') ? r : r.replace(/-\d+$/, ''))));
    outcomes.forEach((outcome, i) => {
      const kind = routes[i]!.replace(/-\d+$/, '');
      if (kind === 'ok') t.is(outcome.status, 'fulfilled', `${routes[i]}: ${(outcome as PromiseRejectedResult).reason?.message}`);
      else {
        t.is(outcome.status, 'rejected', routes[i]);
        const reason = (outcome as PromiseRejectedResult).reason as Error;
        t.true(reason instanceof EngineError, routes[i]);
        if (kind === 'conflict') t.true(reason instanceof EngineConflictError);
        if (kind === 'hang') t.regex(reason.message, /did not answer within 3000 ms/);
        if (kind === 'boom') t.regex(reason.message, /500: boom/);
      }
    });
  });
}
