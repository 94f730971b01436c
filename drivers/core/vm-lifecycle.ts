import type { Engine } from '../engine/engine.ts';
import { EngineConflictError, EngineNotFoundError, unlessNotFound } from '../engine/engine-errors.ts';
import type { ContainerInspect, ImageInspect } from '../engine/types.ts';
import { containerConfig, resourceLimits } from './container-config.ts';
import { InvalidInputError, VmConflictError, VmNotFoundError } from './errors.ts';
import type { GuestFile } from './guest-files.ts';
import type { HostAccess } from './host-access.ts';
import type { HostSettings } from './host-settings.ts';
import { HostMounts } from './host-mounts.ts';
import { ensureImageVolumes, imageVolumeMounts, removeImageVolumes, removeImageVolumesExcept } from './image-volumes.ts';
import { pinnedReference } from './image-pin.ts';
import { DiskHotplug } from './disk-hotplug.ts';
import { endedInOomKill } from './oom-kill.ts';
import { linkOwner } from './link-ownership.ts';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_SNAPSHOT_OF, LABEL_VM_ID, OWNER_VALUE } from './labels.ts';
import { netDevPath } from './net-dev.ts';
import type { NicPlumbing } from './nic-plumbing.ts';
import { applyResolvConf } from './resolv-conf.ts';
import { HostImages } from './host-images.ts';
import { pollUntil } from './poll.ts';
import { tarArchive } from './tar-archive.ts';
import type { NicSpec, VmSpec, VolumeMount } from './vm-spec.ts';
import { vmStatusOf, type VmRef, type VmStatus } from './vm-status.ts';

export type VmPowerState = 'running' | 'paused' | 'stopped' | 'missing';

/**
 * The container verbs behind every front-end. Each is idempotent: repeating it after a success,
 * or after a run that died half-way, converges on the same container.
 */
export class VmLifecycle {
  private readonly hostMounts: HostMounts;
  private readonly disks: DiskHotplug;

  constructor(
    private readonly engine: Engine,
    private readonly nics: NicPlumbing,
    private readonly host: HostSettings,
    private readonly access: HostAccess,
    private readonly images = new HostImages(engine),
  ) {
    this.hostMounts = new HostMounts(access, host);
    this.disks = new DiskHotplug(engine, access, host);
  }

  /** Creates and starts the VM, or starts the existing one with its data (resume from poweroff). */
  async deploy(spec: VmSpec): Promise<VmStatus> {
    await this.nics.checkHost(linkOwner(spec), spec.nics);
    const existing = await this.createUnlessPresent(spec);
    if (existing !== 'created') {
      if (!existing.State.Running) await this.applyResourceLimits(spec, existing);
      return vmStatusOf(await this.bringUp(spec, existing));
    }
    try {
      return vmStatusOf(await this.bringUp(spec, 'created'));
    } catch (error) {
      // A VM that never ran leaves nothing behind; a retried deploy starts from scratch.
      await this.destroy(spec).catch(() => undefined);
      throw error;
    }
  }

  /** Creates the VM's container without starting it (a VM defined powered off); an existing one is kept as it is. */
  async create(spec: VmSpec): Promise<void> {
    await this.nics.checkHost(linkOwner(spec), spec.nics);
    await this.createUnlessPresent(spec);
  }

  /**
   * Remakes the VM from `spec.image`, as a cloud's rebuild does: a fresh root filesystem from that image pinned by
   * digest, under the same container name with the same NICs, `files` written into it, then started. The image is
   * made present and read before the old container is touched, so an image that cannot be had changes nothing.
   * The image's VOLUME volumes start empty, unless `keepVolumes`: then each one the new image mounts at the path it
   * already held keeps its data. `previousNics` (the old container's) are unplugged with it. Answers the pinned
   * reference; a failure once the old container is gone leaves no container behind.
   */
  async rebuild(spec: VmSpec, files: GuestFile[], options: { keepVolumes: boolean; previousNics: NicSpec[] }): Promise<string> {
    const old = await this.requireContainer(spec);
    await this.nics.checkHost(linkOwner(spec), spec.nics);
    const wanted = await this.withPresentVolumes(spec);
    const image = await this.presentImage(wanted);
    const rebuilt = { ...wanted, image: pinnedReference(wanted.image, image) };
    if (old.State.Paused) await this.engine.unpauseContainer(spec.containerName);
    if (old.State.Running) await this.engine.stopContainer(spec.containerName, this.host.shutdownTimeoutSeconds);
    await this.removeIfPresent(spec.containerName);
    const unplugged = new Map([...options.previousNics, ...spec.nics].map((nic) => [nic.hostInterface, nic]));
    await this.nics.unplug(linkOwner(spec), [...unplugged.values()]);
    await this.hostMounts.release(spec.containerName);
    await this.disks.release(spec.containerName);
    if (options.keepVolumes) await removeImageVolumesExcept(this.engine, spec, imageVolumeMounts(wanted, image));
    else await removeImageVolumes(this.engine, spec);
    try {
      await this.createUnlessPresent(rebuilt);
      await this.writeGuestFiles(spec, files);
      await this.bringUp(rebuilt, 'created');
    } catch (error) {
      await this.removeIfPresent(spec.containerName).catch(() => undefined);
      await this.nics.unplug(linkOwner(spec), spec.nics).catch(() => undefined);
      throw error;
    }
    return rebuilt.image;
  }

  /** Graceful stop bounded by the host's shutdown timeout, then kill; `keep` leaves the stopped container and its data. */
  async shutdown(spec: VmSpec, keep: boolean, graceSeconds = this.host.shutdownTimeoutSeconds): Promise<void> {
    const container = await this.ownContainer(spec);
    if (container) {
      if (container.State.Paused) await this.engine.unpauseContainer(spec.containerName);
      await this.engine.stopContainer(spec.containerName, graceSeconds);
    }
    await this.finishStop(spec, keep);
  }

  /** Immediate kill; `keep` as for shutdown. */
  async cancel(spec: VmSpec, keep: boolean): Promise<void> {
    const container = await this.ownContainer(spec);
    if (container?.State.Running) await this.killIfRunning(spec.containerName);
    await this.finishStop(spec, keep);
  }

  /**
   * Removes the container, its NICs, its image volumes and its snapshot images, whatever state they are in.
   * `keepImageVolumes`: another container of the VM on this host (the source of a move to this host) still uses them.
   */
  async destroy(spec: VmSpec, options: { keepImageVolumes?: boolean } = {}): Promise<void> {
    const container = await this.ownContainer(spec);
    if (container) await this.removeIfPresent(spec.containerName);
    if (!options.keepImageVolumes) await removeImageVolumes(this.engine, spec);
    await this.nics.unplug(linkOwner(spec), spec.nics);
    await this.hostMounts.release(spec.containerName);
    await this.disks.release(spec.containerName);
    for (const image of await this.engine.listImages([`${LABEL_SNAPSHOT_OF}=${spec.containerName}`])) {
      // An image another container runs (an instance booted from a snapshot that inherited the label) stays.
      await this.engine.removeImage(image.Id).catch((error: unknown) => {
        if (!(error instanceof EngineNotFoundError) && !(error instanceof EngineConflictError)) throw error;
      });
    }
  }

  /** Graceful restart: the processes get the stop signal, the container starts again with its NICs. */
  async reboot(spec: VmSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    if (container.State.Paused) await this.engine.unpauseContainer(spec.containerName);
    await this.disks.prepare(spec);
    await this.engine.restartContainer(spec.containerName, this.host.shutdownTimeoutSeconds);
    await this.nics.openBridges(spec.nics);
    await this.disks.plugAttached(spec, await this.plugNics(spec));
  }

  /** Hard reset: kill and start again. */
  async reset(spec: VmSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    if (container.State.Paused) await this.engine.unpauseContainer(spec.containerName); // the engine kills no paused container
    if (container.State.Running) await this.killIfRunning(spec.containerName);
    await this.disks.prepare(spec);
    await this.engine.startContainer(spec.containerName);
    await this.nics.openBridges(spec.nics);
    await this.disks.plugAttached(spec, await this.plugNics(spec));
  }

  /** Suspend: freeze the processes in memory, or stop the container, as the host is configured. */
  async suspend(spec: VmSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    if (!container.State.Running) return;
    if (this.host.suspendMode === 'pause') {
      if (!container.State.Paused) await this.engine.pauseContainer(spec.containerName);
    } else {
      if (container.State.Paused) await this.engine.unpauseContainer(spec.containerName);
      await this.engine.stopContainer(spec.containerName, this.host.shutdownTimeoutSeconds);
    }
  }

  /** Freezes the VM's processes in memory; only a running VM can be paused. */
  async pause(spec: VmRef): Promise<void> {
    const container = await this.requireContainer(spec);
    if (container.State.Paused) return;
    if (!container.State.Running) throw new VmConflictError(`VM ${spec.vmId}: container ${spec.containerName} is not running, so it cannot be paused`);
    await this.engine.pauseContainer(spec.containerName);
  }

  /** Thaws a paused VM; one already running is left as it is. */
  async unpause(spec: VmRef): Promise<void> {
    const container = await this.requireContainer(spec);
    if (container.State.Paused) await this.engine.unpauseContainer(spec.containerName);
    else if (!container.State.Running)
      throw new VmConflictError(`VM ${spec.vmId}: container ${spec.containerName} is not paused but stopped; start it instead`);
  }

  /** Resume from suspend: thaw or start the container and make sure its NICs are there. */
  async resume(spec: VmSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    await this.bringUp(spec, container);
  }

  async resize(spec: VmSpec): Promise<void> {
    await this.requireContainer(spec);
    await this.engine.updateContainer(spec.containerName, resourceLimits(spec));
  }

  async attachNic(spec: VmSpec, nic: NicSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    await this.nics.checkHost(linkOwner(spec), [nic]);
    if (!container.State.Running) return; // plugged at the next start, like every other NIC in the spec
    await this.nics.openBridges([nic]);
    await this.nics.plug(linkOwner(spec), container.State.Pid, [nic]);
    await this.applyDns(spec, container);
  }

  async detachNic(spec: VmSpec, nic: NicSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    await this.nics.unplug(linkOwner(spec), [nic], container.State.Running ? container.State.Pid : undefined);
  }

  /** Hot-plugs a disk volume into the running VM; a VM that is off mounts it at its next start, from its document. */
  async attachDisk(spec: VmSpec, disk: VolumeMount): Promise<void> {
    const container = await this.requireContainer(spec);
    this.disks.requireHotplug(spec, container);
    if (!(await this.engine.volumeExists(disk.volume))) {
      throw new InvalidInputError(`VM ${spec.vmId}: volume ${disk.volume} for ${disk.containerPath} is not on this host (its disk was not transferred here)`);
    }
    if (container.State.Running) await this.disks.plug(spec, container, disk);
  }

  /** Unmounts a hot-plugged disk from the running VM; its data stays in the volume. */
  async detachDisk(spec: VmSpec, disk: VolumeMount): Promise<void> {
    const container = await this.requireContainer(spec);
    this.disks.requireHotplug(spec, container);
    await this.disks.unplug(spec, container, disk);
  }

  /**
   * Applies what the VM's network context says at run time: DNS servers and search domains, and the NICs'
   * addresses, routes and bandwidth limits (an alias attached or detached, a lease or a limit changed).
   */
  async reconfigure(spec: VmSpec): Promise<void> {
    const container = await this.requireContainer(spec);
    if (container.State.Running && container.HostConfig.NetworkMode !== 'host') await this.nics.reconfigure(container.State.Pid, spec.nics);
    await this.applyDns(spec, container);
  }

  /** Saves the container's filesystem as an image; returns the name the front-end keeps for it. */
  async snapshotCreate(spec: VmSpec, snapshotId: string): Promise<string> {
    await this.requireContainer(spec);
    const tag = `snap-${snapshotId}`;
    await this.engine.commitContainer(spec.containerName, snapshotRepository(spec), tag, {
      [LABEL_OWNER]: OWNER_VALUE,
      [LABEL_SNAPSHOT_OF]: spec.containerName,
      [LABEL_VM_ID]: spec.vmId,
    });
    return tag;
  }

  /** Replaces the container by one made from the snapshot, keeping its configuration and power state. */
  async snapshotRevert(spec: VmSpec, snapshotName: string): Promise<void> {
    const container = await this.requireContainer(spec);
    const image = `${snapshotRepository(spec)}:${snapshotTag(snapshotName)}`;
    if (!(await this.engine.findImage(image))) throw new InvalidInputError(`VM ${spec.vmId}: snapshot ${snapshotName} not found on this host`);
    const wasRunning = container.State.Running;
    await this.removeIfPresent(spec.containerName);
    await this.nics.unplug(linkOwner(spec), spec.nics);
    const reverted = await this.createUnlessPresent({ ...spec, image });
    if (wasRunning) await this.bringUp(spec, reverted);
  }

  async snapshotDelete(spec: VmRef, snapshotName: string): Promise<void> {
    const image = `${snapshotRepository(spec)}:${snapshotTag(snapshotName)}`;
    await unlessNotFound(this.engine.removeImage(image));
  }

  /** The last `lines` lines the VM's processes wrote to their console (stdout and stderr). */
  async consoleLog(spec: VmRef, lines: number): Promise<string> {
    await this.requireContainer(spec);
    return this.engine.containerLogs(spec.containerName, lines);
  }

  async powerState(spec: VmRef): Promise<VmPowerState> {
    const container = await this.ownContainer(spec);
    if (!container) return 'missing';
    if (container.State.Paused) return 'paused';
    return container.State.Running ? 'running' : 'stopped';
  }

  /** The VM's status, or undefined when it has no container on this host. */
  async status(ref: VmRef): Promise<VmStatus | undefined> {
    const container = await this.ownContainer(ref);
    return container && { ...vmStatusOf(container), oomKilled: await endedInOomKill(this.engine, container) };
  }

  /** Writes files into the VM's filesystem before it first starts (files injected at boot); parents are created. */
  async writeGuestFiles(ref: VmRef, files: GuestFile[]): Promise<void> {
    if (files.length === 0) return;
    const archive = tarArchive(files.map((file) => ({ name: file.path.replace(/^\/+/, ''), content: file.contents })));
    await this.engine.putArchive(ref.containerName, '/', archive);
  }

  /**
   * Saves the VM's filesystem as `repository:tag` and pushes it to the registry the repository names;
   * returns the image reference pinned by digest, what a host pulls to boot a VM from the snapshot.
   */
  async publishSnapshot(ref: VmRef, target: { repository: string; tag: string }, pushTimeoutMs: number): Promise<string> {
    return (await this.commitSnapshot(ref, target, pushTimeoutMs)).pinned!;
  }

  /**
   * Saves the VM's filesystem as the image `repository:tag`, pushed to the registry the repository names when
   * `pushTimeoutMs` is given. Returns the image id, and the pushed reference pinned by digest. `removedWithVm`:
   * the VM's destroy removes the image; not for an image whose copies may run other VMs on this host (its id,
   * and so its labels, are the same in every copy).
   */
  async commitSnapshot(
    ref: VmRef,
    target: { repository: string; tag: string },
    pushTimeoutMs?: number,
    removedWithVm = true,
  ): Promise<{ imageId: string; pinned?: string }> {
    await this.requireContainer(ref);
    // A commit keeps the container's labels, which it may have from its own image (a moved instance's): an image
    // that outlives the VM says so with an empty snapshot-of, so that the VM's removal does not take it.
    const labels = { [LABEL_OWNER]: OWNER_VALUE, [LABEL_VM_ID]: ref.vmId, [LABEL_SNAPSHOT_OF]: removedWithVm ? ref.containerName : '' };
    if (pushTimeoutMs === undefined) return { imageId: await this.engine.commitContainer(ref.containerName, target.repository, target.tag, labels) };
    const digest = await this.images.commitAndPush(ref.containerName, target, labels, pushTimeoutMs);
    return { imageId: (await this.engine.inspectImage(`${target.repository}:${target.tag}`)).Id, pinned: `${target.repository}@${digest}` };
  }

  /** An image on this host as `docker save` writes it (by id: the archive then names no tag), read as it arrives. */
  openImageArchive(reference: string, timeoutMs: number): Promise<NodeJS.ReadableStream> {
    return this.images.save(reference, timeoutMs);
  }

  /** Loads a `docker save` archive into this host's engine; returns the engine's report, one line an image loaded. */
  loadImageArchive(archive: NodeJS.ReadableStream, timeoutMs: number): Promise<string[]> {
    return this.images.load(archive, timeoutMs);
  }

  /** Removes an image tag from this host; one already gone is fine. */
  removeImage(reference: string): Promise<void> {
    return this.images.untag(reference);
  }

  /**
   * Creates the container, or returns the VM's existing one. The image is read first: the paths it declares as
   * VOLUME become the VM's named volumes, which must exist before the container is made with them.
   */
  private async createUnlessPresent(wanted: VmSpec): Promise<ContainerInspect | 'created'> {
    const existing = await this.ownContainer(wanted); // its image may be gone; the container does not need it
    if (existing) return existing;
    const spec = await this.withPresentVolumes(wanted);
    const image = await this.presentImage(spec);
    const imageVolumes = imageVolumeMounts(spec, image);
    await ensureImageVolumes(this.engine, spec, imageVolumes);
    const config = containerConfig({ ...spec, volumes: [...(spec.volumes ?? []), ...imageVolumes] }, this.host);
    try {
      await this.engine.createContainer(spec.containerName, config);
      return 'created';
    } catch (error) {
      if (error instanceof EngineConflictError) return this.requireContainer(spec);
      throw error;
    }
  }

  /** The VM's image, pulled first when the host does not have it and its policy allows. */
  private async presentImage(spec: VmSpec): Promise<ImageInspect> {
    const image = await this.engine.findImage(spec.image);
    if (image) return image;
    if (this.host.imagePull === 'never') {
      throw new InvalidInputError(`VM ${spec.vmId}: image ${spec.image} is not on this host and pulling is disabled`);
    }
    try {
      await this.images.pull(spec.image, this.host.imagePullTimeoutMs);
    } catch (error) {
      // The registry has no such image: the request named a wrong one, which is not the VM missing.
      if (error instanceof EngineNotFoundError) throw new InvalidInputError(`VM ${spec.vmId}: image ${spec.image} cannot be pulled: ${error.message}`);
      throw error;
    }
    return this.engine.inspectImage(spec.image);
  }

  /** A resize done while the VM was off changed only the front-end's document: the stopped container takes it before it starts. */
  private async applyResourceLimits(spec: VmSpec, container: ContainerInspect): Promise<void> {
    const wanted = resourceLimits(spec, this.host.defaultLimits);
    const differs = (Object.keys(wanted) as (keyof typeof wanted)[]).some((key) => container.HostConfig[key] !== wanted[key]);
    if (differs) await this.engine.updateContainer(spec.containerName, wanted);
  }

  /** Drops optional volumes the host does not have; a missing required one (a disk never transferred) is an error. */
  private async withPresentVolumes(spec: VmSpec): Promise<VmSpec> {
    if (!spec.volumes?.length) return spec;
    const volumes = [];
    for (const mount of spec.volumes) {
      if (await this.engine.volumeExists(mount.volume)) volumes.push(mount);
      else if (!mount.optional)
        throw new InvalidInputError(
          `VM ${spec.vmId}: volume ${mount.volume} for ${mount.containerPath} is not on this host (its disk was not transferred here)`,
        );
    }
    return { ...spec, volumes };
  }

  /** Starts or thaws the container and plugs its NICs; the bridges' firewall check runs while the engine starts it. */
  private async bringUp(spec: VmSpec, container: ContainerInspect | 'created'): Promise<ContainerInspect> {
    const starts = container === 'created' || (!container.State.Running && !container.State.Paused);
    if (starts) await this.hostMounts.pin(spec);
    if (starts) await this.disks.prepare(spec);
    const ready = this.nics.openBridges(spec.nics);
    ready.catch(() => undefined);
    if (starts) await this.engine.startContainer(spec.containerName);
    else if (container.State.Paused) await this.engine.unpauseContainer(spec.containerName);
    await ready;
    const running = await this.plugNics(spec);
    if (starts) await this.disks.plugAttached(spec, running);
    await this.applyDns(spec, running);
    return running;
  }

  private async plugNics(spec: VmSpec): Promise<ContainerInspect> {
    const container = await this.engine.inspectContainer(spec.containerName);
    if (!container.State.Running || container.State.Pid <= 0) throw stoppedAfterStart(spec, container);
    if (container.HostConfig.NetworkMode === 'host') return container;
    try {
      await this.nics.plug(linkOwner(spec), container.State.Pid, spec.nics);
    } catch (error) {
      // Processes that end at once take their network namespace with them while it is being plugged.
      const stopped = await this.stoppedSince(spec, container.State.Pid);
      if (stopped) throw stoppedAfterStart(spec, stopped);
      throw error;
    }
    return container;
  }

  /** The container, once the engine has seen it stop, when its process `pid` is gone; undefined while it runs. */
  private async stoppedSince(spec: VmSpec, pid: number): Promise<ContainerInspect | undefined> {
    // The engine records the exit a moment later; on a loaded host that moment can be seconds. A process
    // on its way out loses its network namespace before it turns into a zombie: that counts as gone too.
    const running = async () => (await processAlive(this.access, pid)) && (await this.access.exists(netDevPath(pid)));
    let container: ContainerInspect | undefined;
    const settled = async () => {
      container = await this.engine.inspectContainer(spec.containerName);
      if (!container.State.Running) return 'stopped';
      return (await running()) && 'running';
    };
    if ((await pollUntil(settled, { timeoutMs: STOP_RECORD_WAIT_MS, intervalMs: 100 })) === 'running') return undefined;
    container ??= await this.engine.inspectContainer(spec.containerName);
    if (!container.State.Running) return container;
    return (await running()) ? undefined : { ...container, State: { ...container.State, Running: false, Error: 'its first process has exited' } };
  }

  private async applyDns(spec: VmSpec, container: ContainerInspect): Promise<void> {
    if (container.HostConfig.NetworkMode === 'host' || !container.ResolvConfPath) return;
    await applyResolvConf(container.ResolvConfPath, spec.nics, this.access);
  }

  private async finishStop(spec: VmSpec, keep: boolean): Promise<void> {
    if (keep) await this.nics.unplug(linkOwner(spec), spec.nics);
    else await this.destroy(spec);
    await this.disks.release(spec.containerName);
  }

  private async killIfRunning(name: string): Promise<void> {
    await this.engine.killContainer(name).catch((error: unknown) => {
      if (!(error instanceof EngineConflictError)) throw error; // "is not running": already stopped
    });
  }

  private async removeIfPresent(name: string): Promise<void> {
    await unlessNotFound(this.engine.removeContainer(name));
  }

  private async ownContainer(spec: VmRef): Promise<ContainerInspect | undefined> {
    const container = await this.engine.findContainer(spec.containerName);
    if (container) this.assertOurs(container, spec);
    return container;
  }

  private async requireContainer(spec: VmRef): Promise<ContainerInspect> {
    const container = await this.ownContainer(spec);
    if (!container) throw new VmNotFoundError(`VM ${spec.vmId}: container ${spec.containerName} does not exist on this host`);
    return container;
  }

  /** A container of the same name that dockvisor did not make, or made for another VM or front-end, is never touched. */
  private assertOurs(container: ContainerInspect, spec: VmRef): void {
    const labels = container.Config.Labels ?? {};
    if (labels[LABEL_OWNER] !== OWNER_VALUE || labels[LABEL_VM_ID] !== spec.vmId || labels[LABEL_FRONT_END] !== spec.frontEnd) {
      throw new VmConflictError(`VM ${spec.vmId}: a container named ${spec.containerName} exists on this host but is not this VM's; it was left alone`);
    }
  }
}

/** False once the process has exited, also while it is a zombie its parent has not reaped yet. */
async function processAlive(access: HostAccess, pid: number): Promise<boolean> {
  try {
    const stat = await access.readFile(`/proc/${pid}/stat`);
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function stoppedAfterStart(spec: VmSpec, container: ContainerInspect): InvalidInputError {
  const reason = container.State.Error || `exit code ${container.State.ExitCode}`;
  return new InvalidInputError(`VM ${spec.vmId}: container ${spec.containerName} stopped right after start (${reason})`);
}

function snapshotRepository(spec: VmRef): string {
  return `dockvisor-snapshot/${spec.containerName}`;
}

function snapshotTag(name: string): string {
  if (!/^snap-[0-9]{1,9}$/.test(name)) throw new InvalidInputError(`snapshot name "${name.slice(0, 40)}" is not one dockvisor made`);
  return name;
}

/** How long the engine may take to record the exit of a VM's process that is gone. */
const STOP_RECORD_WAIT_MS = 10_000;
