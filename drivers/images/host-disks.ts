import { CONTEXT_MOUNT, contextVolume, diskVolume, rootDiskImage, rootDiskRepository, rootDiskTag } from '../core/disk-names.ts';
import { engineConflict, InvalidInputError, VmConflictError } from '../core/errors.ts';
import { defaultHostSettings } from '../core/host-settings.ts';
import { LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from '../core/labels.ts';
import { openImageVolumeArchive, type ImageVolumeArchive } from '../core/image-volume-archive.ts';
import { CommandRunner } from '../core/command-runner.ts';
import { LocalHostAccess } from '../core/host-access.ts';
import { HostImages } from '../core/host-images.ts';
import { NicPlumbing } from '../core/nic-plumbing.ts';
import { VmLifecycle } from '../core/vm-lifecycle.ts';
import { existingVmSpec, type VmSpec } from '../core/vm-spec.ts';
import type { HostEngine } from '../core/open-engine.ts';
import { CURRENT_TAG } from './datastore-images.ts';
import { parseImageName, type ImageName } from './registry/image-name.ts';
import type { RegistryCredentials } from './registry/registry-auth.ts';
import { registryReach } from './registry-reach.ts';
import { DATABLOCK_DIR, DATABLOCK_LABEL } from './tarball/datablock-layer.ts';
import { tarArchive, type TarFile } from '../core/tar-archive.ts';

/** Marks containers made only to fill a volume; they are never started and never look like VMs. */
const LABEL_HELPER_OF = 'io.dockvisor.volume-helper-of';

/**
 * A VM's disks on one host, driven through that host's engine: the root disk is a local image the
 * container is made from, other disks and the context are named volumes.
 */
export class HostDisks {
  private readonly images: HostImages;

  constructor(
    private readonly engine: HostEngine,
    credentials: (registry: string) => RegistryCredentials | undefined,
    private readonly pullTimeoutMs: number,
    /** The container name of the VM with this id, as its platform names it. */
    private readonly vmName: (vmId: number) => string,
  ) {
    this.images = new HostImages(engine, registryReach(engine, credentials, pullTimeoutMs));
  }

  /** Pulls a datastore image (unless the host has it) and makes it disk `diskId` of the VM. */
  async placeDisk(vmId: number, diskId: number, image: ImageName & { digest: string }): Promise<'root' | 'volume'> {
    const reference = `${image.registry}/${image.repository}@${image.digest}`;
    let inspected = await this.engine.findImage(reference);
    if (!inspected) {
      await this.images.pull(reference, this.pullTimeoutMs);
      inspected = await this.engine.inspectImage(reference);
    }
    if (inspected.Config?.Labels?.[DATABLOCK_LABEL] !== undefined) {
      await this.fillVolume(vmId, diskVolume(this.vmName(vmId), diskId), reference, `/${DATABLOCK_DIR}`);
      return 'volume';
    }
    await this.engine.tagImage(reference, rootDiskRepository(this.vmName(vmId)), rootDiskTag(diskId));
    return 'root';
  }

  /** An empty volume for a volatile disk. */
  async createEmptyVolume(vmId: number, diskId: number): Promise<void> {
    const name = diskVolume(this.vmName(vmId), diskId);
    if (!(await this.engine.volumeExists(name))) await this.engine.createVolume(name, volumeLabels(vmId));
  }

  /** Replaces the context volume's files (context.sh and the context FILES). */
  async writeContext(vmId: number, files: TarFile[]): Promise<void> {
    const volume = contextVolume(this.vmName(vmId));
    const [image] = await Promise.all([
      this.anyLocalImage(vmId),
      this.engine.removeVolume(volume).catch(() => undefined), // stale files of an earlier boot go
    ]);
    await this.withHelper(vmId, volume, CONTEXT_MOUNT, image, async (helper) => {
      await this.engine.putArchive(helper, CONTEXT_MOUNT, tarArchive(files));
    });
  }

  /** Commits the VM's container and pushes it as `registry/repository:tag`. */
  async saveContainer(vmId: number, target: ImageName, tag = CURRENT_TAG): Promise<void> {
    const container = this.vmName(vmId);
    if (!(await this.containers().status(containerOnlySpec(vmId, this.vmName(vmId)))))
      throw new InvalidInputError(`VM ${vmId}: container ${container} is not on this host; nothing to save`);
    const repository = `${target.registry}/${target.repository}`;
    await this.images.commitAndPush(container, { repository, tag }, { [LABEL_OWNER]: OWNER_VALUE }, this.pullTimeoutMs, false);
  }

  /** The registry the VM's root disk came from, read from the pulled image's digests. */
  async rootDiskRegistry(vmId: number): Promise<string | undefined> {
    for (const tag of await this.engine.imageTags(rootDiskRepository(this.vmName(vmId)))) {
      const image = await this.engine.inspectImage(tag);
      const pinned = (image.RepoDigests ?? []).find((digest) => !digest.startsWith(`${rootDiskRepository(this.vmName(vmId))}@`));
      if (pinned) return parseImageName(pinned).registry;
    }
    return undefined;
  }

  async hasRootDisk(vmId: number, diskId: number): Promise<boolean> {
    return (await this.engine.findImage(rootDiskImage(this.vmName(vmId), diskId))) !== undefined;
  }

  async hasDiskVolume(vmId: number, diskId: number): Promise<boolean> {
    return this.engine.volumeExists(diskVolume(this.vmName(vmId), diskId));
  }

  /**
   * The volume of disk `diskId` as a tar stream of `data/...` (what a datablock image holds), read through a
   * helper container; `done` removes the helper once the stream has been consumed.
   */
  async openDiskVolume(vmId: number, diskId: number, timeoutMs: number): Promise<{ archive: NodeJS.ReadableStream; done: () => Promise<void> }> {
    const volume = diskVolume(this.vmName(vmId), diskId);
    const helper = this.helperName(vmId, volume);
    await this.engine.removeContainer(helper).catch(() => undefined);
    await this.engine.createContainer(helper, {
      Image: await this.anyLocalImage(vmId),
      Cmd: ['/nonexistent'],
      Labels: { [LABEL_HELPER_OF]: this.vmName(vmId) },
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: `/${DATABLOCK_DIR}`, ReadOnly: true }] },
    });
    const done = () => this.engine.removeContainer(helper).catch(() => undefined);
    try {
      return { archive: await this.engine.openArchive(helper, `/${DATABLOCK_DIR}`, timeoutMs), done };
    } catch (error) {
      await done();
      throw error;
    }
  }

  /** The VM's image volumes as one tar stream (see openImageVolumeArchive); undefined when the VM has none. */
  async openImageVolumes(vmId: number, timeoutMs: number): Promise<ImageVolumeArchive | undefined> {
    const ref = { frontEnd: 'opennebula' as const, vmId: String(vmId), containerName: this.vmName(vmId) };
    return openImageVolumeArchive(this.engine, ref, await this.anyLocalImage(vmId), { [LABEL_HELPER_OF]: this.vmName(vmId) }, timeoutMs);
  }

  /** Removes one disk: the root disk takes the whole container with it; another disk is its volume. */
  async removeDisk(vmId: number, diskId: number): Promise<void> {
    if (await this.hasRootDisk(vmId, diskId)) {
      await this.destroyContainer(vmId);
      await this.untag(rootDiskImage(this.vmName(vmId), diskId));
      return;
    }
    await this.removeVolumeOfDisk(vmId, diskVolume(this.vmName(vmId), diskId));
  }

  /** Removes everything the VM has on the host: container, snapshots, root disk images, volumes. */
  async removeVm(vmId: number): Promise<void> {
    await this.destroyContainer(vmId);
    for (const tag of await this.engine.imageTags(rootDiskRepository(this.vmName(vmId)))) await this.untag(tag);
    for (const helper of await this.engine.listContainers([`${LABEL_HELPER_OF}=${this.vmName(vmId)}`])) await this.engine.removeContainer(helper.Id);
    for (const volume of await this.engine.listVolumes([`${LABEL_OWNER}=${OWNER_VALUE}`, `${LABEL_VM_ID}=${vmId}`])) await this.engine.removeVolume(volume);
  }

  /**
   * The VMM's cleanup: the container, its NICs and its snapshot images. A container of that name that is not the
   * VM's (the reason its deploy failed) is left alone, and does not keep the VM's own disks and volumes on the host.
   */
  async destroyContainer(vmId: number): Promise<void> {
    await this.containers()
      .destroy(containerOnlySpec(vmId, this.vmName(vmId)))
      .catch((error: unknown) => {
        if (!(error instanceof VmConflictError)) throw error;
      });
  }

  /** Undeploy and stop: the container stops (its NICs go with its processes) and stays, with the VM's disks and volumes. */
  async parkVm(vmId: number): Promise<void> {
    await this.containers().shutdown(containerOnlySpec(vmId, this.vmName(vmId)), true);
  }

  async untag(reference: string): Promise<void> {
    await this.images.untag(reference);
  }

  private async removeVolumeOfDisk(vmId: number, volume: string): Promise<void> {
    try {
      await this.engine.removeVolume(volume);
    } catch (error) {
      throw new InvalidInputError(`VM ${vmId}: volume ${volume} cannot be removed while the VM's container uses it (${(error as Error).message})`);
    }
  }

  /** Creates the volume and lets the engine copy `image`'s `path` into it, as it does for an empty volume. */
  private async fillVolume(vmId: number, volume: string, image: string, path: string): Promise<void> {
    await this.engine.removeVolume(volume).catch(() => undefined);
    await this.withHelper(vmId, volume, path, image, async () => undefined);
  }

  /** A never-started container with the volume mounted at `path`, for the engine to fill the volume through. */
  private async withHelper(vmId: number, volume: string, path: string, image: string, use: (helper: string) => Promise<void>): Promise<void> {
    await this.engine.createVolume(volume, volumeLabels(vmId));
    const helper = this.helperName(vmId, volume);
    const create = () =>
      this.engine.createContainer(helper, {
        Image: image,
        Cmd: ['/nonexistent'],
        Labels: { [LABEL_HELPER_OF]: this.vmName(vmId) },
        HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: path }] },
      });
    // A helper is only there when an earlier run was killed before removing it: removed then, not asked for every time.
    await create().catch(async (error: unknown) => {
      if (!engineConflict(error)) throw error;
      await this.engine.removeContainer(helper).catch(() => undefined);
      await create();
    });
    try {
      await use(helper);
    } finally {
      await this.engine.removeContainer(helper).catch(() => undefined);
    }
  }

  /** The container verbs on this host's engine, for a VM known only by its id. */
  private containers(): VmLifecycle {
    const access = new LocalHostAccess(new CommandRunner([]));
    return new VmLifecycle(this.engine, new NicPlumbing(access), defaultHostSettings(), access, this.images);
  }

  private helperName(vmId: number, volume: string): string {
    return `${this.vmName(vmId)}-volume-${volume.slice(this.vmName(vmId).length + 1)}`;
  }

  /** Any image already on the host, for a helper container that is never started: the VM's own first. */
  private async anyLocalImage(vmId: number): Promise<string> {
    const own = await this.engine.imageTags(rootDiskRepository(this.vmName(vmId)));
    if (own[0]) return own[0];
    const any = (await this.engine.listImages([])).find((image) => image.Id);
    if (!any) throw new InvalidInputError(`VM ${vmId}: the host has no image at all to make the context volume with`);
    return any.Id;
  }
}

function volumeLabels(vmId: number): Record<string, string> {
  return { [LABEL_OWNER]: OWNER_VALUE, [LABEL_VM_ID]: String(vmId) };
}

/** Enough of a VM for stopping or removing its container: no NICs to unplug (the veths go with its processes). */
function containerOnlySpec(vmId: number, name: string): VmSpec {
  return existingVmSpec({ frontEnd: 'opennebula', vmId: String(vmId), containerName: name });
}
