import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { defaultHostSettings, type HostSettings } from '../../drivers/core/host-settings.ts';
import { hostServices, type HostServices } from '../../drivers/core/host-services.ts';
import { MemoryHostAccess } from '../../drivers/core/memory-host-access.ts';
import { MemoryEngine } from '../../drivers/engine/memory-engine.ts';
import { BASE_IMAGE } from './paths.ts';

export interface MemoryHost {
  engine: MemoryEngine;
  access: MemoryHostAccess;
  services: HostServices;
}

/** A host in memory with the base image and the given bridges: the core's verbs run on it without root or Docker. */
export function memoryHost(t: ExecutionContext, options: { bridges?: string[]; config?: Partial<HostSettings> } = {}): MemoryHost {
  const access = new MemoryHostAccess();
  const engine = new MemoryEngine(access);
  engine.addImage(BASE_IMAGE);
  for (const bridge of options.bridges ?? []) access.addBridge(bridge);
  const stateDir = mkdtempSync(join(tmpdir(), 'dockvisor-memory-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const config: HostSettings = { ...defaultHostSettings(), rootCommandPrefix: [], stateDir, shutdownTimeoutSeconds: 1, ...options.config };
  return { engine, access, services: hostServices(config, engine, access) };
}
