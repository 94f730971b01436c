import test from 'ava';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { execIn } from './helpers/datastore.ts';
import { BASE_IMAGE, ENGINE_SOCKET } from './helpers/paths.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { runAction } from './helpers/vmm.ts';
import { testIds } from './helpers/test-ids.ts';

// `onevm resize` of a powered-off VM only changes oned's document; the resume (deploy with LCM_STATE 20) must apply it.
const ids = testIds(import.meta.filename);
const PLAIN = ids.vm(0);
const FROM_DATASTORE = ids.vm(1);
const MB = 1024 * 1024;

/** A root disk of a dockvisor datastore, as the transfer's clone leaves it: a local tag the container is made from. */
const datastoreDisk = {
  diskId: 0,
  source: `docker://127.0.0.1:5400/dockvisor/image-${FROM_DATASTORE}@sha256:${'a'.repeat(64)}`,
  tmMad: 'dockvisor',
  imageId: FROM_DATASTORE,
};

async function cleanup(): Promise<void> {
  const engine = await realEngine();
  await removeContainersOf(engine, [PLAIN, FROM_DATASTORE]);
  await engine.removeImage(`dockvisor-disk/one-${FROM_DATASTORE}:disk-0`).catch(() => undefined);
}

test.before(async () => {
  await cleanup();
  const engine = await realEngine();
  await engine.tagImage(BASE_IMAGE, `dockvisor-disk/one-${FROM_DATASTORE}`, 'disk-0');
});
test.after.always(cleanup);

async function act(action: string, argv: string[], stdin: string): Promise<void> {
  const result = await runAction(action, argv, stdin);
  if (result.code !== 0) throw new Error(`${action}: ${result.stderr}`);
}

const cases: [string, VmDraft][] = [
  ['an image VM', { id: PLAIN, cpu: '0.5', vcpu: '1', memory: '128' }],
  [
    'a VM whose root disk comes from a dockvisor datastore',
    { id: FROM_DATASTORE, cpu: '0.5', vcpu: '1', memory: '128', systemTm: 'dockvisor', disks: [datastoreDisk] },
  ],
];

for (const [name, draft] of cases) {
  test.serial(`a resize while powered off reaches ${name} when it resumes, with its data`, async (t) => {
    const engine = await realEngine();
    const container = `one-${draft.id}`;
    await act('deploy', deployArgv(draft.id), vmXml(draft));
    execIn(ENGINE_SOCKET, container, 'sh', '-c', 'echo kept > /written');
    await act('shutdown', idArgv(draft.id), actionXml({ ...draft, lcmState: 18 }));

    const resized = { ...draft, cpu: '1.5', vcpu: '2', memory: '256', lcmState: 20 };
    await act('deploy', deployArgv(draft.id), vmXml(resized));

    const { State, HostConfig } = await engine.inspectContainer(container);
    t.true(State.Running);
    t.is(execIn(ENGINE_SOCKET, container, 'cat', '/written'), 'kept\n');
    t.is(HostConfig.Memory, 256 * MB);
    t.is(HostConfig.MemorySwap, 256 * MB);
    t.is(HostConfig.CpuQuota, 150_000);
    t.is(HostConfig.CpuShares, 1536);
    await act('shutdown', idArgv(draft.id), actionXml({ ...resized, lcmState: 12 }));
  });
}
