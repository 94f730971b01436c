import type { ExecutionContext, TestFn } from 'ava';
import { Readable } from 'node:stream';
import type { Engine } from '../../drivers/engine/engine.ts';
import { EngineConflictError, EngineError, EngineNotFoundError } from '../../drivers/engine/engine-errors.ts';
import type { ContainerCreateBody } from '../../drivers/engine/types.ts';
import { BASE_IMAGE } from './paths.ts';

/** Label on everything the contract makes, so that a run cleans up what an interrupted one left. */
export const CONTRACT_LABEL = 'io.dockvisor.test.engine-contract';

/**
 * The Engine contract, written once: the verbs dockvisor's core relies on and the typed errors it reads.
 * test/engine-contract.test.ts runs it against the real engine, test/engine-contract-memory.test.ts against
 * the MemoryEngine. Names start with `prefix`, which keeps the two halves' containers apart.
 */
export function engineContract(test: TestFn, prefix: string, open: () => Promise<Engine>): void {
  const name = (what: string) => `${prefix}-${what}`;
  const body = (labels: Record<string, string> = {}): ContainerCreateBody => ({
    Image: BASE_IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { [CONTRACT_LABEL]: prefix, ...labels },
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none' },
  });
  const fresh = async (t: ExecutionContext, what: string, labels?: Record<string, string>) => {
    const engine = await open();
    await engine.removeContainer(name(what)).catch(() => undefined);
    t.teardown(() => engine.removeContainer(name(what)).catch(() => undefined));
    await engine.createContainer(name(what), body(labels));
    return engine;
  };

  test.serial('a created container is listed by its labels and inspected by name, not running', async (t) => {
    const engine = await fresh(t, 'create', { 'contract.kind': 'a' });
    const inspected = await engine.inspectContainer(name('create'));
    t.is(inspected.Name, `/${name('create')}`);
    t.is(inspected.State.Status, 'created');
    t.false(inspected.State.Running);
    t.is(inspected.Config.Labels?.['contract.kind'], 'a');
    const listed = await engine.listContainers([`${CONTRACT_LABEL}=${prefix}`, 'contract.kind=a']);
    t.deepEqual(
      listed.map((c) => c.Names[0]),
      [`/${name('create')}`],
    );
    t.is(listed[0]!.State, 'created');
    t.deepEqual(await engine.listContainers([`${CONTRACT_LABEL}=${prefix}`, 'contract.kind=b']), []);
  });

  test.serial('a second container of the same name is a conflict; a missing image or container is not found', async (t) => {
    const engine = await fresh(t, 'twice');
    await t.throwsAsync(engine.createContainer(name('twice'), body()), {
      instanceOf: EngineConflictError,
      message: new RegExp(`^container ${name('twice')}: `),
    });
    await t.throwsAsync(engine.createContainer(name('noimage'), { ...body(), Image: 'dockvisor/no-such-image:1' }), { instanceOf: EngineNotFoundError });
    await t.throwsAsync(engine.inspectContainer(name('nothing')), {
      instanceOf: EngineNotFoundError,
      message: new RegExp(`^container ${name('nothing')} not found`),
    });
    t.is(await engine.findContainer(name('nothing')), undefined);
    await t.throwsAsync(engine.removeContainer(name('nothing')), { instanceOf: EngineNotFoundError });
  });

  test.serial('rename keeps the container under its new name; a name in use is a conflict, a missing container not found', async (t) => {
    const engine = await fresh(t, 'rename-a');
    await engine.removeContainer(name('rename-b')).catch(() => undefined);
    t.teardown(() => engine.removeContainer(name('rename-b')).catch(() => undefined));
    const id = (await engine.inspectContainer(name('rename-a'))).Id;
    await engine.renameContainer(name('rename-a'), name('rename-b'));
    t.is((await engine.inspectContainer(name('rename-b'))).Id, id);
    t.is(await engine.findContainer(name('rename-a')), undefined);
    await engine.createContainer(name('rename-a'), body());
    await t.throwsAsync(engine.renameContainer(name('rename-a'), name('rename-b')), { instanceOf: EngineConflictError });
    await t.throwsAsync(engine.renameContainer(name('nothing'), name('rename-c')), { instanceOf: EngineNotFoundError });
  });

  test.serial('start runs it with a pid; starting again and stopping twice are no errors', async (t) => {
    const engine = await fresh(t, 'start');
    await engine.startContainer(name('start'));
    await engine.startContainer(name('start'));
    const running = await engine.inspectContainer(name('start'));
    t.true(running.State.Running);
    t.true(running.State.Pid > 0);
    t.is(running.State.Status, 'running');
    await engine.stopContainer(name('start'), 1);
    await engine.stopContainer(name('start'), 1);
    const stopped = await engine.inspectContainer(name('start'));
    t.false(stopped.State.Running);
    t.is(stopped.State.Status, 'exited');
    t.regex((await engine.listContainers([`${CONTRACT_LABEL}=${prefix}`])).find((c) => c.Names[0] === `/${name('start')}`)!.Status, /^Exited \(\d+\)/);
  });

  test.serial('pause freezes a running container; a paused one can be killed, a stopped one not paused', async (t) => {
    const engine = await fresh(t, 'pause');
    await t.throwsAsync(engine.pauseContainer(name('pause')), { instanceOf: EngineConflictError }, 'not running');
    await engine.startContainer(name('pause'));
    await engine.pauseContainer(name('pause'));
    const paused = await engine.inspectContainer(name('pause'));
    t.true(paused.State.Paused);
    t.true(paused.State.Running, 'the engine calls a paused container running');
    t.is(paused.State.Status, 'paused');
    await t.throwsAsync(engine.pauseContainer(name('pause')), { instanceOf: EngineConflictError }, 'already paused');
    await engine.unpauseContainer(name('pause'));
    t.is((await engine.inspectContainer(name('pause'))).State.Status, 'running');
    await t.throwsAsync(engine.unpauseContainer(name('pause')), { instanceOf: EngineError, message: /is not paused/ }, 'a server error, not a conflict');
    await engine.pauseContainer(name('pause'));
    await engine.killContainer(name('pause'));
    const killed = await engine.inspectContainer(name('pause'));
    t.is(killed.State.Status, 'exited');
    t.false(killed.State.Paused);
    t.is(killed.State.ExitCode, 137);
  });

  test.serial('kill ends a running container with 137; killing a stopped one is a conflict; remove takes a running one', async (t) => {
    const engine = await fresh(t, 'kill');
    await t.throwsAsync(engine.killContainer(name('kill')), { instanceOf: EngineConflictError });
    await engine.startContainer(name('kill'));
    await engine.killContainer(name('kill'));
    const killed = await engine.inspectContainer(name('kill'));
    t.false(killed.State.Running);
    t.is(killed.State.ExitCode, 137);
    await engine.startContainer(name('kill'));
    await engine.removeContainer(name('kill'));
    t.is(await engine.findContainer(name('kill')), undefined);
  });

  test.serial('commit makes a labelled image; tags, untagging and removal as the core uses them', async (t) => {
    const engine = await fresh(t, 'commit');
    const repo = `dockvisor-contract/${prefix}`;
    t.teardown(async () => {
      for (const tag of await engine.imageTags(repo)) await engine.removeImage(tag).catch(() => undefined);
    });
    const id = await engine.commitContainer(name('commit'), repo, 'snap-1', { [CONTRACT_LABEL]: prefix });
    const image = await engine.inspectImage(`${repo}:snap-1`);
    t.is(image.Id, id);
    t.true((await engine.listImages([`${CONTRACT_LABEL}=${prefix}`])).some((listed) => listed.Id === id));
    await engine.tagImage(`${repo}:snap-1`, repo, 'snap-2');
    t.deepEqual((await engine.imageTags(repo)).sort(), [`${repo}:snap-1`, `${repo}:snap-2`]);
    await engine.removeImage(`${repo}:snap-1`);
    t.deepEqual(await engine.imageTags(repo), [`${repo}:snap-2`], 'removing one tag of two untags it');
    await engine.removeImage(`${repo}:snap-2`);
    t.is(await engine.findImage(`${repo}:snap-2`), undefined);
    await t.throwsAsync(engine.removeImage(`${repo}:snap-2`), { instanceOf: EngineNotFoundError });
    await t.throwsAsync(engine.inspectImage(`${repo}:nothing`), { instanceOf: EngineNotFoundError, message: new RegExp(`^image ${repo}:nothing not found`) });
  });

  test.serial('an image saved by id loads back as the same image, untagged; a missing one is not found', async (t) => {
    const engine = await fresh(t, 'save');
    const repo = `dockvisor-contract/${prefix}-save`;
    const id = await engine.commitContainer(name('save'), repo, 'snap-1', { [CONTRACT_LABEL]: prefix });
    t.teardown(() => engine.removeImage(id).catch(() => undefined));
    const chunks: Buffer[] = [];
    for await (const chunk of (await engine.saveImage(id, 60_000)) as AsyncIterable<Buffer>) chunks.push(chunk);
    await engine.removeImage(`${repo}:snap-1`);
    t.is(await engine.findImage(id), undefined);
    t.deepEqual(await engine.loadImage(Readable.from([Buffer.concat(chunks)]), 60_000), [`Loaded image ID: ${id}`]);
    const loaded = await engine.inspectImage(id);
    t.deepEqual(loaded.RepoTags, [], 'saved by id, the archive names no tag');
    t.is(loaded.Config?.Labels?.[CONTRACT_LABEL], prefix);
    await t.throwsAsync(engine.saveImage(`${repo}:nothing`, 60_000), { instanceOf: EngineNotFoundError });
  });

  test.serial('volumes: made once, listed by label, kept while a container mounts them, removed without error when gone', async (t) => {
    const engine = await open();
    const volume = name('volume');
    await engine.removeContainer(name('mounts')).catch(() => undefined);
    await engine.removeVolume(volume);
    t.teardown(async () => {
      await engine.removeContainer(name('mounts')).catch(() => undefined);
      await engine.removeVolume(volume).catch(() => undefined);
    });
    t.false(await engine.volumeExists(volume));
    await engine.createVolume(volume, { [CONTRACT_LABEL]: prefix });
    await engine.createVolume(volume, { [CONTRACT_LABEL]: prefix });
    t.true(await engine.volumeExists(volume));
    t.deepEqual(await engine.listVolumes([`${CONTRACT_LABEL}=${prefix}`]), [volume]);
    await engine.createContainer(name('mounts'), {
      ...body(),
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }] },
    });
    await t.throwsAsync(engine.removeVolume(volume), { instanceOf: EngineConflictError });
    await engine.removeContainer(name('mounts'));
    await engine.removeVolume(volume);
    await engine.removeVolume(volume);
    t.false(await engine.volumeExists(volume));
  });

  test.serial('a command runs in a running container with its input; its output streams and exit code come back', async (t) => {
    const engine = await fresh(t, 'exec');
    await t.throwsAsync(engine.createExec(name('exec'), ['/bin/cat'], true), { instanceOf: EngineConflictError });
    await engine.startContainer(name('exec'));
    t.true(await engine.pathExists(name('exec'), '/bin/cat'));
    t.false(await engine.pathExists(name('exec'), '/bin/no-such-command'));
    const id = await engine.createExec(name('exec'), ['/bin/cat'], true);
    const output: string[] = [];
    await engine.runExec(id, Buffer.from('echoed'), (stream, chunk) => output.push(`${stream}:${chunk.toString()}`));
    t.deepEqual(output, ['stdout:echoed']);
    const state = await engine.inspectExec(id);
    t.false(state.running);
    t.is(state.exitCode, 0);
    const missing = await engine.createExec(name('exec'), ['/bin/no-such-command'], false);
    const said: string[] = [];
    await engine.runExec(missing, undefined, (_stream, chunk) => said.push(chunk.toString()));
    t.regex(said.join(''), /exec failed/);
    t.is((await engine.inspectExec(missing)).exitCode, 126);
  });
}
