import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import { EngineNotFoundError } from '../drivers/engine/engine-errors.ts';
import { realEngine } from './helpers/engine.ts';
import { BASE_IMAGE, ENGINE_SOCKET } from './helpers/paths.ts';

// The engine client against the real local engine over its unix socket.

const PREFIX = 'dvtest-engine-local-';
const TEST_LABEL = 'dockvisor.test';
const TEST_LABEL_VALUE = 'engine-local';

const freshClient = () => new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET }, { timeoutMs: 20_000 });
const uniqueName = () => `${PREFIX}${randomBytes(4).toString('hex')}`;

/** Our containers from this file, including ones an earlier, interrupted run left behind. */
async function removeOurContainers(engine: EngineClient): Promise<void> {
  const ours = await engine.listContainers([`${TEST_LABEL}=${TEST_LABEL_VALUE}`]);
  for (const container of ours) {
    const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
    if (name.startsWith(PREFIX)) await engine.removeContainer(container.Id);
  }
}

test.before(async () => {
  await removeOurContainers(await realEngine());
});

test.after.always(async () => {
  await removeOurContainers(await realEngine());
});

test('negotiates the API version with the engine through /_ping', async (t) => {
  const engine = freshClient();
  t.teardown(() => engine.close());
  const negotiated = await engine.transport.negotiatedVersion();
  t.is(typeof negotiated, 'string');
  t.regex(negotiated, /^1\.\d+$/);
  const version = await engine.version();
  t.regex(version.ApiVersion, /^1\.\d+$/);
  // The client speaks the engine's version unless the engine is newer than the client knows.
  const [major, minor] = negotiated.split('.').map(Number) as [number, number];
  const [engineMajor, engineMinor] = version.ApiVersion.split('.').map(Number) as [number, number];
  t.true(major < engineMajor || (major === engineMajor && minor <= engineMinor), `${negotiated} <= ${version.ApiVersion}`);
  t.is(await engine.transport.negotiatedVersion(), negotiated, 'negotiated once, then remembered');
});

test("inspecting a missing container is an EngineNotFoundError in the caller's words", async (t) => {
  const engine = freshClient();
  t.teardown(() => engine.close());
  const error = await t.throwsAsync(engine.inspectContainer('nosuch-xyz'), { instanceOf: EngineNotFoundError });
  t.regex(error!.message, /^container nosuch-xyz not found/);
  t.is(error!.status, 404);
  t.is(await engine.findContainer('nosuch-xyz'), undefined);
});

/** A container of this file, created and not started, on a fresh client; both are gone when the test ends. */
async function createdContainer(t: ExecutionContext): Promise<{ engine: EngineClient; name: string; id: string }> {
  const engine = freshClient();
  const name = uniqueName();
  t.teardown(async () => {
    await engine.removeContainer(name).catch(() => undefined);
    await engine.close();
  });
  const id = await engine.createContainer(name, {
    Image: BASE_IMAGE,
    Cmd: ['sleep', 'infinity'],
    Labels: { [TEST_LABEL]: TEST_LABEL_VALUE },
    HostConfig: { NetworkMode: 'none' },
  });
  return { engine, name, id };
}

async function runningContainer(t: ExecutionContext): Promise<{ engine: EngineClient; name: string; id: string }> {
  const container = await createdContainer(t);
  await container.engine.startContainer(container.name);
  return container;
}

test('creates a container, which is then in the created state', async (t) => {
  const { engine, name, id } = await createdContainer(t);
  t.regex(id, /^[0-9a-f]{64}$/);
  t.is((await engine.inspectContainer(name)).State.Status, 'created');
});

test('starts a created container, with the network mode it was created with', async (t) => {
  const { engine, name } = await createdContainer(t);
  await engine.startContainer(name);
  const running = await engine.inspectContainer(name);
  t.true(running.State.Running);
  t.is(running.HostConfig.NetworkMode, 'none');
  t.true(running.State.Pid > 0);
});

test('starting a container that is already running succeeds', async (t) => {
  const { engine, name } = await runningContainer(t);
  await t.notThrowsAsync(engine.startContainer(name), 'already running: 304 is success too');
});

test('the label filter lists the container, another label value does not', async (t) => {
  const { engine, name, id } = await runningContainer(t);
  const listed = await engine.listContainers([`${TEST_LABEL}=${TEST_LABEL_VALUE}`]);
  t.true(
    listed.some((c) => c.Id === id && c.Names.includes(`/${name}`)),
    'the label filter finds the container',
  );
  const unrelated = await engine.listContainers([`${TEST_LABEL}=no-such-value-${name}`]);
  t.false(
    unrelated.some((c) => c.Id === id),
    'another label value does not',
  );
});

test('stops a running container, killing it once the grace period is over', async (t) => {
  const { engine, name } = await runningContainer(t);
  // sleep ignores SIGTERM as PID 1, so a 1 s grace ends in SIGKILL.
  await engine.stopContainer(name, 1);
  const stopped = await engine.inspectContainer(name);
  t.false(stopped.State.Running);
  t.is(stopped.State.Status, 'exited');
});

test('removes a stopped container, which inspecting then does not find', async (t) => {
  const { engine, name } = await runningContainer(t);
  await engine.killContainer(name);
  await engine.removeContainer(name);
  await t.throwsAsync(engine.inspectContainer(name), { instanceOf: EngineNotFoundError });
});

test('50 concurrent inspect calls on a fresh client all succeed', async (t) => {
  const engine = freshClient();
  const name = uniqueName();
  t.teardown(async () => {
    await engine.removeContainer(name).catch(() => undefined);
    await engine.close();
  });
  const setup = freshClient();
  const id = await setup.createContainer(name, {
    Image: BASE_IMAGE,
    Cmd: ['sleep', 'infinity'],
    Labels: { [TEST_LABEL]: TEST_LABEL_VALUE },
    HostConfig: { NetworkMode: 'none' },
  });
  await setup.close();

  // The very first calls of this client: the version negotiation happens under load too.
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: 50 }, () => engine.inspectContainer(name)));
  const elapsed = performance.now() - started;
  t.is(results.length, 50);
  t.true(results.every((r) => r.Id === id));
  t.log(`50 concurrent inspect calls over the unix socket: ${elapsed.toFixed(0)} ms`);
});
