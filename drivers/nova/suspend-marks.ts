import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostSettings } from '../core/host-settings.ts';
import { prepareUserStateDir, userStateDir } from '../core/state-dir.ts';

/**
 * Which paused containers Nova suspended rather than paused: the engine freezes both the same way, Nova
 * reports them apart (SUSPENDED, PAUSED). Keyed by container id, so a re-created instance starts unmarked.
 */
export class SuspendMarks {
  private readonly dir: string;

  /** `host`: a remote host's name; its containers' marks live in their own directory. */
  constructor(
    private readonly config: Pick<HostSettings, 'stateDir'>,
    host?: string,
  ) {
    this.dir = join(userStateDir(config), host ? `nova-suspended@${host}` : 'nova-suspended');
  }

  mark(containerId: string): void {
    prepareUserStateDir(this.config);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.path(containerId), '');
  }

  clear(containerId: string): void {
    rmSync(this.path(containerId), { force: true });
  }

  has(containerId: string): boolean {
    return existsSync(this.path(containerId));
  }

  /** Forgets the marks of containers that are gone (removed behind the service's back, for one). */
  keepOnly(containerIds: string[]): void {
    if (!existsSync(this.dir)) return;
    const kept = new Set(containerIds);
    for (const name of readdirSync(this.dir)) if (!kept.has(name)) rmSync(join(this.dir, name), { force: true });
  }

  private path(containerId: string): string {
    if (!/^[a-f0-9]{12,64}$/.test(containerId)) throw new Error(`container id ${containerId.slice(0, 70)} is not an engine id`);
    return join(this.dir, containerId);
  }
}
