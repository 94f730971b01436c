import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { openHostServices, type HostServices } from '../../drivers/core/host-services.ts';
import { LABEL_VM_ID, ownedContainerFilter } from '../../drivers/core/labels.ts';
import type { EngineClient } from '../../drivers/engine/engine-client.ts';
import { computeApp } from '../../drivers/nova/service/compute-app.ts';
import { BASE_IMAGE } from './paths.ts';
import { testConfigPath } from './vmm.ts';

export const TOKEN = 'test-token-0123456789abcdef';
export const auth = { authorization: `Bearer ${TOKEN}` };

export interface TestCompute {
  app: FastifyInstance;
  host: HostServices;
  close(): Promise<void>;
}

/** The compute service on the real local engine, reached with inject(); never pulls, short shutdown waits. */
export async function testCompute(options: { registry?: string; config?: string } = {}): Promise<TestCompute> {
  const host = openHostServices(options.config ?? testConfigPath({}, 'nova-host.json'));
  const app = await computeApp({ token: TOKEN, hosts: [{ name: 'local', services: host }], registry: options.registry, pushTimeoutMs: 60_000 });
  return { app, host, close: async () => (await app.close(), await host.close()) };
}

/**
 * Instance uuids of one test file: a fixed first group per file, so that a file finds and removes what an
 * interrupted earlier run of it left, and never touches another file's instances.
 */
export function uuidMaker(fileTag: string): { next(): string; prefix: string } {
  if (!/^[0-9a-f]{8}$/.test(fileTag)) throw new Error('fileTag: 8 hex digits');
  return {
    prefix: `${fileTag}-`,
    next: () => {
      const hex = randomBytes(14).toString('hex');
      return `${fileTag}-${hex.slice(0, 4)}-4${hex.slice(4, 7)}-8${hex.slice(7, 10)}-${hex.slice(10, 22)}`;
    },
  };
}

/** Removes every Nova container whose uuid starts with `prefix`. */
export async function removeInstances(engine: EngineClient, prefix: string): Promise<void> {
  for (const container of await engine.listContainers(ownedContainerFilter('nova'))) {
    if (container.Labels[LABEL_VM_ID]?.startsWith(prefix)) await engine.removeContainer(container.Id).catch(() => undefined);
  }
}

export async function instanceNames(engine: EngineClient, prefix: string): Promise<string[]> {
  const all = await engine.listContainers(ownedContainerFilter('nova'));
  return all.filter((c) => c.Labels[LABEL_VM_ID]?.startsWith(prefix)).map((c) => c.Names[0]!.replace(/^\//, ''));
}

/** A spawn body that works on this machine: the local base image, sleeping, a small flavor. */
export function spawnBody(uuid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uuid,
    name: 'test instance',
    image: BASE_IMAGE,
    command: ['sleep', '100000'],
    flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 },
    ...extra,
  };
}
