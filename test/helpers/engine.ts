import { existsSync } from 'node:fs';
import { EngineClient } from '../../drivers/engine/engine-client.ts';
import { LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from '../../drivers/core/labels.ts';
import { BASE_IMAGE, ENGINE_SOCKET } from './paths.ts';

let shared: EngineClient | undefined;

/** The real local engine; a missing one fails the test that needs it (scripts/setup.sh starts it). */
export async function realEngine(): Promise<EngineClient> {
  if (!existsSync(ENGINE_SOCKET)) throw new Error(`no Docker engine at ${ENGINE_SOCKET}: run scripts/setup.sh`);
  shared ??= new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET });
  await shared.version();
  if (!(await shared.findImage(BASE_IMAGE))) throw new Error(`base image ${BASE_IMAGE} is missing: run scripts/setup.sh`);
  return shared;
}

/** Gives the base image another name, as a registry image the recorded fixtures ask for would have. */
export async function tagBaseImageAs(engine: EngineClient, repo: string, tag: string): Promise<void> {
  await engine.transport.call({
    method: 'POST',
    path: `/images/${encodeURIComponent(BASE_IMAGE)}/tag`,
    query: { repo, tag },
    expect: [201],
    subject: `image ${BASE_IMAGE}`,
  });
}

/** Our containers for the given VM ids (all states). */
export async function containersOf(engine: EngineClient, vmIds: (number | string)[]): Promise<string[]> {
  const ids = new Set(vmIds.map(String));
  const all = await engine.listContainers([`${LABEL_OWNER}=${OWNER_VALUE}`]);
  return all.filter((c) => ids.has(c.Labels[LABEL_VM_ID] ?? '')).map((c) => c.Names[0]!.replace(/^\//, ''));
}

export async function removeContainersOf(engine: EngineClient, vmIds: (number | string)[]): Promise<void> {
  for (const name of await containersOf(engine, vmIds)) await engine.removeContainer(name).catch(() => undefined);
}
