import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { EngineEndpoint } from '../drivers/engine/endpoint.ts';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import { EngineError } from '../drivers/engine/engine-errors.ts';
import { realEngine } from './helpers/engine.ts';
import { BASE_IMAGE, ENGINE_SOCKET, stateDir } from './helpers/paths.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

// The engine client over SSH: a real OpenSSH sshd on 127.0.0.1 forwarding streamlocal channels to the real engine.

const PREFIX = 'dvtest-engine-ssh-';
const TEST_LABEL = 'dockvisor.test';
const TEST_LABEL_VALUE = 'engine-ssh';

let sshd: TestSshd | undefined;
let local: EngineClient;
const waiter = `${PREFIX}${randomBytes(4).toString('hex')}`;
const clients: EngineClient[] = [];

function sshEndpoint(overrides: Partial<Extract<EngineEndpoint, { kind: 'ssh' }>> = {}): EngineEndpoint {
  if (!sshd) throw new Error('sshd is not running');
  return {
    kind: 'ssh',
    host: '127.0.0.1',
    port: sshd.port,
    username: 'root',
    privateKey: sshd.privateKey,
    socketPath: ENGINE_SOCKET,
    hostKeySha256: sshd.hostKeySha256,
    ...overrides,
  };
}

type Teardown = { teardown(fn: () => unknown): void };

/** A client of its own for one test, closed (its SSH connection ended) when the test ends. */
function sshClient(t: Teardown, overrides: Partial<Extract<EngineEndpoint, { kind: 'ssh' }>> = {}, timeoutMs = 20_000): EngineClient {
  const client = new EngineClient(sshEndpoint(overrides), { timeoutMs });
  clients.push(client);
  t.teardown(() => client.close());
  return client;
}

/** Our containers from this file, including ones an earlier, interrupted run left behind. */
async function removeOurContainers(engine: EngineClient): Promise<void> {
  for (const container of await engine.listContainers([`${TEST_LABEL}=${TEST_LABEL_VALUE}`])) {
    const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
    if (name.startsWith(PREFIX)) await engine.removeContainer(container.Id);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** A call that blocks at the engine for as long as the container runs. */
const waitFor = (engine: EngineClient, name: string) =>
  engine.transport.call({ method: 'POST', path: `/containers/${encodeURIComponent(name)}/wait`, expect: [200], subject: `container ${name}` });

/** Starts `count` blocking calls; each settles into { ok, at, error }. */
function inFlight(engine: EngineClient, count: number) {
  let settled = 0;
  const calls = Array.from({ length: count }, () =>
    waitFor(engine, waiter)
      .then(
        () => ({ ok: true, at: performance.now(), error: undefined as unknown }),
        (error: unknown) => ({ ok: false, at: performance.now(), error }),
      )
      .finally(() => settled++),
  );
  return { calls, settled: () => settled };
}

test.before(async () => {
  local = await realEngine();
  await removeOurContainers(local);
  sshd = await startSshd('engine-ssh');
  await local.createContainer(waiter, {
    Image: BASE_IMAGE,
    Cmd: ['sleep', 'infinity'],
    Labels: { [TEST_LABEL]: TEST_LABEL_VALUE },
    HostConfig: { NetworkMode: 'none' },
  });
  await local.startContainer(waiter);
});

test.after.always(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await removeOurContainers(await realEngine());
  await sshd?.stop();
});

test.serial('version() over SSH negotiates the API version with the remote engine', async (t) => {
  const engine = sshClient(t);
  const started = performance.now();
  const version = await engine.version();
  t.log(`first call over SSH (connect, handshake, channel, _ping, /version): ${(performance.now() - started).toFixed(0)} ms`);
  t.regex(version.ApiVersion, /^1\.\d+$/);
  t.is(await engine.transport.negotiatedVersion(), await local.transport.negotiatedVersion());
  t.is(engine.transport.describe(), 'engine on 127.0.0.1');
  const inspected = await engine.inspectContainer(waiter);
  t.true(inspected.State.Running);
  t.is(sshd!.establishedConnections(), 1);
});

test.serial('200 concurrent calls share one SSH connection and all succeed', async (t) => {
  const engine = sshClient(t);
  await engine.version(); // connected and negotiated: what follows is only the 200 calls
  t.true(await until(() => sshd!.establishedConnections() === 1, 3000), 'earlier tests left no connection');
  const started = performance.now();
  const pending = Array.from({ length: 200 }, (_, i) => (i % 2 ? engine.inspectContainer(waiter) : engine.version()));
  await sleep(50);
  const during = sshd!.establishedConnections();
  const results = await Promise.allSettled(pending);
  const elapsed = performance.now() - started;
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.deepEqual(
    failed.map((r) => String(r.reason)),
    [],
  );
  t.is(during, 1, 'one TCP connection to sshd while the calls run');
  t.is(sshd!.establishedConnections(), 1, 'and still one afterwards');
  t.log(`200 concurrent calls (inspect and version) over one SSH connection: ${elapsed.toFixed(0)} ms`);
});

test.serial('a host key other than the expected one is refused', async (t) => {
  const otherKey = createHash('sha256').update(randomBytes(32)).digest('base64').replace(/=+$/, '');
  const engine = sshClient(t, { hostKeySha256: otherKey });
  const started = performance.now();
  const error = await t.throwsAsync(engine.version(), { instanceOf: EngineError });
  t.regex(error!.message, /^the host key of 127\.0\.0\.1:\d+ \(SHA256:[A-Za-z0-9+/]+\) is not the one expected; refused$/);
  t.true(performance.now() - started < 5000);
  // Refused every time, not only once.
  await t.throwsAsync(engine.inspectContainer(waiter), { message: /is not the one expected; refused/ });
  t.true(await until(() => sshd!.establishedConnections() === 0, 3000), 'no connection left open');
});

test.serial('a wrong engine socket path on the remote host is a clear error', async (t) => {
  const engine = sshClient(t, { socketPath: '/nonexistent/docker.sock' });
  const error = await t.throwsAsync(engine.version(), { instanceOf: EngineError });
  t.regex(error!.message, /cannot reach the engine socket \/nonexistent\/docker\.sock on 127\.0\.0\.1/);
});

test.serial('cutting the SSH connection fails every in-flight call at once; the next call reconnects', async (t) => {
  const engine = sshClient(t, {}, 30_000);
  await engine.version();
  t.true(await until(() => sshd!.establishedConnections() === 1, 3000), 'one SSH connection before the cut');

  // 50 calls that block at the engine: 16 on pooled channels, the rest queued behind them.
  const { calls, settled } = inFlight(engine, 50);
  await sleep(1000);
  t.is(settled(), 0, 'the calls are still in flight before the cut');

  const cutAt = performance.now();
  t.true(sshd!.cutConnections() > 0, 'killed the per-connection sshd processes');
  const outcomes = await Promise.all(calls);
  const slowest = Math.max(...outcomes.map((o) => o.at - cutAt));
  t.true(
    outcomes.every((o) => !o.ok),
    'no call succeeded',
  );
  for (const outcome of outcomes) {
    t.true(outcome.error instanceof EngineError, String(outcome.error));
    t.regex((outcome.error as Error).message, /closed|ECONNRESET/);
  }
  t.true(slowest < 5000, `all 50 in-flight calls failed within ${slowest.toFixed(0)} ms of the cut`);
  t.log(`50 in-flight calls failed within ${slowest.toFixed(0)} ms of the cut`);

  const reconnectStarted = performance.now();
  const version = await engine.version();
  t.regex(version.ApiVersion, /^1\.\d+$/);
  t.log(`next call reconnected and answered in ${(performance.now() - reconnectStarted).toFixed(0)} ms`);
  t.true((await engine.inspectContainer(waiter)).State.Running);
  t.true(await until(() => sshd!.establishedConnections() === 1, 3000), 'one new connection, the old one gone');
});

/**
 * A TCP relay on 127.0.0.1 in front of sshd that can corrupt the stream: it sends garbage to the client and
 * answers the client's FIN (sent after ssh2 rejects the garbage) with a reset, so the client sees two errors.
 */
async function corruptingRelay(target: number) {
  const pairs: { down: net.Socket; up: net.Socket }[] = [];
  let corrupting = false;
  const server = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ host: '127.0.0.1', port: target });
    pairs.push({ down, up });
    down.pipe(up);
    up.pipe(down);
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
    down.on('end', () => (corrupting ? down.resetAndDestroy() : up.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    corrupt() {
      corrupting = true;
      for (const { down, up } of pairs) {
        if (down.destroyed) continue;
        up.unpipe(down);
        down.write(Buffer.alloc(64, 0x41));
      }
    },
    heal: () => (corrupting = false),
    close: () =>
      new Promise<void>((resolve) => {
        for (const { down, up } of pairs) {
          down.destroy();
          up.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

test.serial('a corrupted SSH stream followed by a reset fails the calls without crashing; the next call reconnects', async (t) => {
  const relay = await corruptingRelay(sshd!.port);
  t.teardown(() => relay.close());
  const engine = sshClient(t, { port: relay.port }, 30_000);
  await engine.version();

  const { calls, settled } = inFlight(engine, 20);
  await sleep(500);
  t.is(settled(), 0);
  const corruptedAt = performance.now();
  relay.corrupt();
  const outcomes = await Promise.all(calls);
  t.true(
    outcomes.every((o) => !o.ok && o.error instanceof EngineError),
    'every in-flight call failed with an EngineError',
  );
  const slowest = Math.max(...outcomes.map((o) => o.at - corruptedAt));
  t.true(slowest < 5000, `failed within ${slowest.toFixed(0)} ms`);
  // The reset arrives after ssh2 has already reported the bad packet: give that second error time to surface.
  await sleep(300);

  relay.heal();
  t.regex((await engine.version()).ApiVersion, /^1\.\d+$/);
});

test.serial('without a pinned fingerprint, the host key must be in the known_hosts file named', async (t) => {
  const dir = join(stateDir, 'engine-ssh-known-hosts');
  mkdirSync(dir, { recursive: true });
  const hostKey = readFileSync(join(stateDir, 'sshd-engine-ssh', 'host_ed25519.pub'), 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ');
  const listed = join(dir, 'known_hosts');
  writeFileSync(listed, `# comment\n[127.0.0.1]:${sshd!.port} ${hostKey}\n`);
  t.regex((await sshClient(t, { hostKeySha256: undefined, knownHostsFile: listed }).version()).ApiVersion, /^1\.\d+$/);

  const empty = join(dir, 'known_hosts.empty');
  writeFileSync(empty, '');
  const error = await t.throwsAsync(sshClient(t, { hostKeySha256: undefined, knownHostsFile: empty }).version(), { instanceOf: EngineError });
  t.regex(error!.message, /^the host key of 127\.0\.0\.1:\d+ \(SHA256:[A-Za-z0-9+/]+\) is not in .*known_hosts\.empty; add it/);
});
