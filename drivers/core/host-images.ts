import type { Engine } from '../engine/engine.ts';
import { unlessNotFound } from '../engine/engine-errors.ts';

/**
 * Runs `use` while the host's engine can reach the registry an image reference names, handing it the
 * X-Registry-Auth value for that registry (undefined for anonymous access). The image library supplies the
 * one that forwards a front-end's loopback registry and carries credentials (drivers/images/registry-reach.ts).
 */
export type RegistryReach = <T>(reference: string, use: (registryAuth: string | undefined) => Promise<T>) => Promise<T>;

/** The engine reaches every registry itself, anonymously. */
export const directReach: RegistryReach = (_reference, use) => use(undefined);

/** Pulls, commits and pushes images on one host: the one way every action (VMM, TM, Nova) does it. */
export class HostImages {
  constructor(
    private readonly engine: Engine,
    private readonly reach: RegistryReach = directReach,
  ) {}

  async pull(reference: string, timeoutMs: number): Promise<void> {
    await this.reach(reference, (registryAuth) => this.engine.pullImage(reference, timeoutMs, registryAuth));
  }

  /**
   * Commits the container as `repository:tag` and pushes it to the registry the repository names; returns the
   * pushed digest. With `keepTag: false` the local tag goes once the push is over, pushed or not.
   */
  async commitAndPush(
    container: string,
    target: { repository: string; tag: string },
    labels: Record<string, string>,
    timeoutMs: number,
    keepTag = true,
  ): Promise<string> {
    await this.engine.commitContainer(container, target.repository, target.tag, labels);
    try {
      return await this.reach(target.repository, (registryAuth) => this.engine.pushImage(target.repository, target.tag, timeoutMs, registryAuth));
    } finally {
      if (!keepTag) await this.untag(`${target.repository}:${target.tag}`);
    }
  }

  /** The image as `docker save` writes it, read as it arrives. */
  save(reference: string, timeoutMs: number): Promise<NodeJS.ReadableStream> {
    return this.engine.saveImage(reference, timeoutMs);
  }

  /** Loads a `docker save` archive; returns the engine's report, one line an image loaded. */
  load(archive: NodeJS.ReadableStream, timeoutMs: number): Promise<string[]> {
    return this.engine.loadImage(archive, timeoutMs);
  }

  /** Removes a local tag; one already gone is fine. */
  async untag(reference: string): Promise<void> {
    await unlessNotFound(this.engine.removeImage(reference));
  }
}
