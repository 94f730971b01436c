import type { Engine } from '../engine/engine.ts';
import { VmConflictError, VmNotFoundError } from './errors.ts';
import type { HostImages } from './host-images.ts';
import { openImageVolumeArchive, type ImageVolumeArchive } from './image-volume-archive.ts';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_SNAPSHOT_OF, LABEL_VM_ID, OWNER_VALUE } from './labels.ts';
import type { VmRef } from './vm-status.ts';

/** Marks the never-started container that reads a VM's image volumes for a move. */
const LABEL_MOVE_HELPER_OF = 'io.dockvisor.move-helper-of';

/**
 * What a cold move of a stopped VM takes on one host, whichever front-end moves it: its filesystem saved as an
 * image (kept on the host, or pushed to a registry for another host), its image volumes read as one archive,
 * the saved image fetched on the new host, and its container put aside under another name until the move is
 * confirmed or reverted.
 */
export class ContainerMoves {
  constructor(
    private readonly engine: Engine,
    private readonly images: HostImages,
    private readonly pullTimeoutMs: number,
  ) {}

  /**
   * Commits the VM's filesystem as `repository:tag`, labelled as the VM's so that removing the VM removes it.
   * Pushed (`push`), the answer is the reference pinned by digest and no local tag is left; else the local tag.
   */
  async saveFilesystem(ref: VmRef, target: { repository: string; tag: string }, push: boolean, timeoutMs: number): Promise<string> {
    await this.requireOwn(ref);
    const labels = { [LABEL_OWNER]: OWNER_VALUE, [LABEL_SNAPSHOT_OF]: ref.containerName, [LABEL_VM_ID]: ref.vmId };
    if (!push) {
      await this.engine.commitContainer(ref.containerName, target.repository, target.tag, labels);
      return `${target.repository}:${target.tag}`;
    }
    const digest = await this.images.commitAndPush(ref.containerName, target, labels, timeoutMs, false);
    return `${target.repository}@${digest}`;
  }

  /** The VM's image volumes as one archive, read through a helper made from the VM's own image; undefined: none. */
  async openImageVolumes(ref: VmRef, timeoutMs: number): Promise<ImageVolumeArchive | undefined> {
    const container = await this.requireOwn(ref);
    return openImageVolumeArchive(this.engine, ref, container.Image, { [LABEL_MOVE_HELPER_OF]: ref.containerName }, timeoutMs);
  }

  /** Pulls a saved filesystem unless the host has it, whatever the host's pull policy: it is the VM's own. */
  async fetchImage(reference: string): Promise<void> {
    if (!(await this.engine.findImage(reference))) await this.images.pull(reference, this.pullTimeoutMs);
  }

  async untag(reference: string): Promise<void> {
    await this.images.untag(reference);
  }

  /** Renames the VM's container; refused when the new name is taken, and with `stoppedOnly` when it runs. */
  async rename(ref: VmRef, newName: string, options: { stoppedOnly?: boolean } = {}): Promise<void> {
    const container = await this.requireOwn(ref);
    if (options.stoppedOnly && container.State.Running)
      throw new VmConflictError(`VM ${ref.vmId}: container ${ref.containerName} is running; it is put aside only once stopped`);
    if (await this.engine.findContainer(newName)) throw new VmConflictError(`VM ${ref.vmId}: a container named ${newName} exists already on this host`);
    await this.engine.renameContainer(ref.containerName, newName);
  }

  /** True when the host has a container of that name that is the VM's. */
  async has(ref: VmRef): Promise<boolean> {
    return (await this.own(ref)) !== undefined;
  }

  private async own(ref: VmRef) {
    const container = await this.engine.findContainer(ref.containerName);
    if (!container) return undefined;
    const labels = container.Config.Labels ?? {};
    if (labels[LABEL_OWNER] !== OWNER_VALUE || labels[LABEL_VM_ID] !== ref.vmId || labels[LABEL_FRONT_END] !== ref.frontEnd)
      throw new VmConflictError(`VM ${ref.vmId}: a container named ${ref.containerName} exists on this host but is not this VM's; it was left alone`);
    return container;
  }

  private async requireOwn(ref: VmRef) {
    const container = await this.own(ref);
    if (!container) throw new VmNotFoundError(`VM ${ref.vmId}: container ${ref.containerName} does not exist on this host`);
    return container;
  }
}
