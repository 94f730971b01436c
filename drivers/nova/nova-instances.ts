import { InvalidInputError, NotSupportedError, VmConflictError, VmNotFoundError } from '../core/errors.ts';
import { checkFitsHost } from '../core/host-capacity.ts';
import type { HostServices } from '../core/host-services.ts';
import type { HostAccess } from '../core/host-access.ts';
import { netDevPath, parseNetDev } from '../core/net-dev.ts';
import { existingVmSpec, type NicSpec, type VmSpec } from '../core/vm-spec.ts';
import type { VmRef, VmStatus } from '../core/vm-status.ts';
import type { InstanceInfo, RebuildAnswer, RebuildRequest, SpawnRequest, VifRequest } from './api-schemas.ts';
import type { InstanceDiagnostics } from './diagnostics-schemas.ts';
import { loadImageArchive } from './image-archive.ts';
import { forgetDiagnostics, instanceDiagnostics } from './instance-diagnostics.ts';
import { containerNameOf, injectedFiles, instanceSpec, storedNics } from './instance-spec.ts';
import { parseFlavor } from './host-resources.ts';
import { NOVA_LABEL_NAME, NOVA_LABEL_RESOURCES } from './nova-labels.ts';
import { PowerState, powerStateOf } from './power-state.ts';
import { SuspendMarks } from './suspend-marks.ts';
import { hybridNames } from './ovs-vifs.ts';
import { networkNics, vifNic } from './vif-nics.ts';

export interface NovaOptions {
  /** host:port of the registry snapshots are pushed to; without it, snapshots go to Glance only. */
  registry?: string;
  /** Bounds a push, a `docker save` and a load. */
  pushTimeoutMs: number;
}

/** A snapshot as Glance takes it: the image's id, its pinned registry reference when pushed, and its `docker save` stream. */
export interface SnapshotArchive {
  imageId: string;
  pinned?: string;
  archive: NodeJS.ReadableStream;
  /** Removes the committed image from the host. */
  release: () => Promise<void>;
}

/** An instance as list_instances sees it: the name only when it was spawned with one. */
export interface ListedInstance {
  uuid: string;
  name: string | undefined;
}

/** What the service calls this machine. */
export const LOCAL_HOST = 'local';
const CONSOLE_LINES = 2000;
const CONSOLE_BYTES = 100 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Nova's ComputeDriver verbs on one host, each a sentence or two over the core's VM verbs. */
export class NovaInstances {
  private readonly marks: SuspendMarks;

  /** `hostName`: the host as the service names it; its suspend marks are kept apart from other hosts'. */
  constructor(
    private readonly host: HostServices,
    private readonly options: NovaOptions,
    private readonly hostName = LOCAL_HOST,
  ) {
    this.marks = new SuspendMarks(host.config, hostName === LOCAL_HOST ? undefined : hostName);
  }

  /** Nova's instances on the host, whatever their state; OpenNebula's containers are not among them. */
  async list(): Promise<ListedInstance[]> {
    const vms = await this.host.inventory.list('nova');
    this.marks.keepOnly(vms.map((vm) => vm.containerId));
    // A container put aside by a resize until it is confirmed or reverted is no instance of its own.
    return vms.filter((vm) => UUID.test(vm.vmId) && vm.name === containerNameOf(vm.vmId)).map((vm) => ({ uuid: vm.vmId, name: vm.labels[NOVA_LABEL_NAME] }));
  }

  /** Creates the instance, writes its injected files, and starts it unless `power_on` is false; a failure leaves nothing. */
  async spawn(request: SpawnRequest): Promise<InstanceInfo> {
    const spec = instanceSpec(request);
    const files = injectedFiles(request);
    await checkFitsHost(spec, this.host.access);
    if (await this.host.vms.status(spec)) throw new VmConflictError(`instance ${request.uuid} already exists (container ${spec.containerName})`);
    try {
      await this.host.vms.create(spec);
      await this.host.vms.writeGuestFiles(spec, files);
      if (request.power_on !== false) await this.host.vms.deploy(spec);
    } catch (error) {
      await this.host.vms.destroy(spec).catch(() => undefined);
      throw error;
    }
    return this.info(request.uuid);
  }

  /**
   * Nova's rebuild: the instance remade from a new image, pinned by digest, with a fresh root filesystem; its uuid,
   * container, VIFs (MACs and addresses), metadata and Nova name are kept and the injected files written anew. It
   * ends running. Everything the request says is checked, and the image pulled, before the old container is touched.
   */
  async rebuild(uuid: string, request: RebuildRequest): Promise<RebuildAnswer> {
    const container = await this.existing(uuid);
    const instanceName = request.instance_name ?? container.labels[NOVA_LABEL_NAME];
    const definition = { ...request, uuid, ...(instanceName === undefined ? {} : { instance_name: instanceName }) };
    const spec = instanceSpec(definition);
    const files = injectedFiles(definition);
    const image = await this.host.vms.rebuild(spec, files, {
      keepVolumes: request.preserve_ephemeral === true,
      previousNics: storedNics(container.labels),
    });
    this.marks.clear(container.containerId);
    forgetDiagnostics(this.host, spec.containerName);
    return { ...(await this.info(uuid)), image };
  }

  async info(uuid: string): Promise<InstanceInfo> {
    const vm = await this.existing(uuid);
    const state = powerStateOf(vm, this.marks.has(vm.containerId));
    return { uuid, container: containerNameOf(uuid), host: this.hostName, power_state: PowerState[state], state };
  }

  /**
   * Removes the instance with its NICs; an instance already gone is no error. Its image volumes stay while a
   * resize on this host keeps its source container aside: that container uses them.
   */
  async destroy(uuid: string): Promise<void> {
    const spec = identity(uuid);
    const vm = await this.host.vms.status(spec);
    if (!vm) return;
    await this.host.vms.destroy({ ...spec, nics: storedNics(vm.labels) }, { keepImageVolumes: await this.hasAside(uuid) });
    this.marks.clear(vm.containerId);
    forgetDiagnostics(this.host, spec.containerName);
  }

  /** SOFT: the processes get the stop signal, then start again; HARD: killed and started. Both end running. */
  async reboot(uuid: string, type: 'SOFT' | 'HARD', networkInfo?: VifRequest[]): Promise<InstanceInfo> {
    const { spec, container } = await this.existingSpec(uuid, networkInfo);
    this.marks.clear(container.containerId);
    if (type === 'SOFT') await this.host.vms.reboot(spec);
    else await this.host.vms.reset(spec);
    return this.info(uuid);
  }

  /** Graceful stop for `timeoutSeconds` (the host's default when absent) then a kill; 0 kills at once. Data is kept. */
  /**
   * Stopped by this call, the instance is SHUTDOWN: reading its state back would check an exit 137 (the kill after
   * the graceful stop) against the engine's OOM events, a wait of up to a second for a kill that was ours.
   */
  async powerOff(uuid: string, timeoutSeconds?: number): Promise<InstanceInfo> {
    await this.stop(uuid, timeoutSeconds);
    return { uuid, container: containerNameOf(uuid), host: this.hostName, power_state: PowerState.SHUTDOWN, state: 'SHUTDOWN' };
  }

  /** Graceful stop bounded by `timeoutSeconds`, then a kill; 0 kills at once. */
  async stop(uuid: string, timeoutSeconds?: number): Promise<void> {
    const { spec, container } = await this.existingSpec(uuid);
    this.marks.clear(container.containerId);
    if (timeoutSeconds === 0) await this.host.vms.cancel(spec, true);
    else await this.host.vms.shutdown(spec, true, timeoutSeconds);
  }

  async powerOn(uuid: string, networkInfo?: VifRequest[]): Promise<InstanceInfo> {
    const { spec, container } = await this.existingSpec(uuid, networkInfo);
    this.marks.clear(container.containerId);
    await this.host.vms.resume(spec);
    return this.info(uuid);
  }

  async pause(uuid: string): Promise<InstanceInfo> {
    const { spec, container } = await this.existingSpec(uuid);
    await this.host.vms.pause(spec);
    this.marks.clear(container.containerId);
    return this.info(uuid);
  }

  async unpause(uuid: string): Promise<InstanceInfo> {
    const { spec, container } = await this.existingSpec(uuid);
    await this.host.vms.unpause(spec);
    this.marks.clear(container.containerId);
    return this.info(uuid);
  }

  /** Freezes the processes in memory, as pause does (nothing is written to disk), and reports SUSPENDED. */
  async suspend(uuid: string): Promise<InstanceInfo> {
    const { spec, container } = await this.existingSpec(uuid);
    await this.host.vms.pause(spec);
    this.marks.mark(container.containerId);
    return this.info(uuid);
  }

  async resume(uuid: string, networkInfo?: VifRequest[]): Promise<InstanceInfo> {
    const { spec, container } = await this.existingSpec(uuid, networkInfo);
    await this.host.vms.resume(spec);
    this.marks.clear(container.containerId);
    return this.info(uuid);
  }

  /** The flavor the instance was made with, as its container keeps it. */
  async flavor(uuid: string): Promise<{ vcpus: number; memory_mb: number; root_gb: number }> {
    return parseFlavor((await this.existing(uuid)).labels[NOVA_LABEL_RESOURCES]);
  }

  /**
   * Creates a moved instance from its saved filesystem, starting it when `powerOn`; one already made by an
   * earlier try is kept. A failure removes it, but not the image volumes a source container here still uses.
   */
  async place(spec: VmSpec, powerOn: boolean): Promise<InstanceInfo> {
    await checkFitsHost(spec, this.host.access);
    try {
      await this.host.vms.create(spec);
      if (powerOn) await this.host.vms.deploy(spec);
    } catch (error) {
      await this.host.vms.destroy(spec, { keepImageVolumes: await this.hasAside(spec.vmId) }).catch(() => undefined);
      throw error;
    }
    return this.info(spec.vmId);
  }

  /** True when a resize keeps the instance's source container aside on this host. */
  async hasAside(uuid: string): Promise<boolean> {
    return this.host.moves.has(asideReference(uuid));
  }

  /** Puts the stopped source container of a resize aside, freeing the instance's name for its new container. */
  async putAside(uuid: string): Promise<void> {
    await this.host.moves.rename(reference(uuid), resizeSourceNameOf(uuid), { stoppedOnly: true });
  }

  /** Revert: the source container put aside is the instance again, as it was when it was stopped. */
  async bringBack(uuid: string): Promise<void> {
    await this.host.moves.rename(asideReference(uuid), containerNameOf(uuid));
  }

  /**
   * Confirm: the source container put aside goes. When the instance moved to another host, what else it had here
   * goes too (its image VOLUMEs, its saved filesystems); on the same host the instance still uses them.
   */
  async dropAside(uuid: string): Promise<void> {
    const stillHere = await this.host.inventory.nameTaken(containerNameOf(uuid));
    await this.host.vms.destroy({ ...identity(uuid), containerName: resizeSourceNameOf(uuid) }, { keepImageVolumes: true });
    if (!stillHere) await this.host.vms.destroy(identity(uuid));
  }

  /** Commits the instance's filesystem and pushes it to the registry; returns the reference pinned by digest. */
  async snapshot(uuid: string, imageId: string): Promise<string> {
    const registry = requireRegistry(this.options);
    const { spec } = await this.existingSpec(uuid);
    return this.host.vms.publishSnapshot(spec, { repository: `${registry}/nova-snapshots/${uuid}`, tag: imageId }, this.options.pushTimeoutMs);
  }

  /**
   * Commits the instance's filesystem (pushed to the registry too when one is configured) and opens the image as
   * `docker save` writes it, for Glance. The committed image is the host's only until `release`, which the caller
   * runs once the archive is read or abandoned; a failure before the archive opens leaves nothing.
   */
  async snapshotArchive(uuid: string, imageId: string): Promise<SnapshotArchive> {
    const { spec } = await this.existingSpec(uuid);
    const registry = this.options.registry;
    const target = { repository: `${registry ? `${registry}/` : ''}nova-snapshots/${uuid}`, tag: imageId };
    const release = () => this.host.vms.removeImage(`${target.repository}:${target.tag}`);
    try {
      // Glance's copies boot other instances here, with the same id: the instance's destroy must leave them.
      const committed = await this.host.vms.commitSnapshot(spec, target, registry ? this.options.pushTimeoutMs : undefined, false);
      return { ...committed, archive: await this.host.vms.openImageArchive(committed.imageId, this.options.pushTimeoutMs), release };
    } catch (error) {
      await release().catch(() => undefined);
      throw error;
    }
  }

  /** Loads a `docker save` archive (a Glance image's data) on this host; returns the image id spawn then boots from. */
  loadImage(archive: NodeJS.ReadableStream, expectedId: string | undefined): Promise<string> {
    return loadImageArchive(this.host, archive, expectedId, this.options.pushTimeoutMs);
  }

  /** Hot-plugs a VIF as the next free eth<n>; a stopped instance gets it from network_info at its next start. */
  async attachInterface(uuid: string, vif: VifRequest): Promise<void> {
    const { spec, container } = await this.existingSpec(uuid);
    const nic = vifNic(vif, await nextNicId(this.host.access, spec.nics, container), uuid);
    if ((await this.host.access.links.present([nic.hostInterface])).size)
      throw new VmConflictError(`instance ${uuid}: interface ${nic.hostInterface} of VIF ${vif.id} already exists on the host`);
    await this.host.vms.attachNic(spec, nic);
  }

  /**
   * Unplugs the VIF's host end (tap<id[:11]>), which takes its peer inside with it, and what an `ovs` VIF had on
   * the switch (its port, a hybrid plug's bridge and veth pair) when the instance's; a VIF already gone is no error.
   */
  async detachInterface(uuid: string, vifId: string): Promise<void> {
    const { spec } = await this.existingSpec(uuid);
    const hostInterface = `tap${vifId.slice(0, 11)}`;
    const ovs = { hybrid: hybridNames(vifId) };
    const nic: NicSpec = {
      nicId: -1,
      hostInterface,
      bridge: '',
      bridgeType: 'openvswitch',
      mac: '',
      ipv4: [],
      ipv6: [],
      routes: [],
      dns: [],
      searchDomains: [],
      ovs,
    };
    await this.host.vms.detachNic(spec, nic);
  }

  /** The end of what the instance's processes wrote, at most 100 KiB, as Nova's console log. */
  async consoleOutput(uuid: string): Promise<string> {
    const { spec } = await this.existingSpec(uuid);
    const output = Buffer.from(await this.host.vms.consoleLog(spec, CONSOLE_LINES));
    return output.subarray(Math.max(0, output.length - CONSOLE_BYTES)).toString('utf8');
  }

  /** Counters, HEALTHCHECK status and, once stopped, how the last run ended: what Nova's diagnostics show. */
  async diagnostics(uuid: string): Promise<InstanceDiagnostics> {
    const vm = await this.existing(uuid);
    return instanceDiagnostics(this.host, uuid, vm, powerStateOf(vm, this.marks.has(vm.containerId)));
  }

  private async existing(uuid: string): Promise<VmStatus> {
    const vm = await this.host.vms.status(reference(uuid));
    if (!vm) throw new VmNotFoundError(`instance ${uuid} not found on ${this.host.access.name}`);
    return vm;
  }

  /** The instance's VM as the core's verbs need it: its identity and NICs (Nova's current VIFs when given). */
  private async existingSpec(uuid: string, networkInfo?: VifRequest[]): Promise<{ spec: VmSpec; container: VmStatus }> {
    const container = await this.existing(uuid);
    const nics = networkInfo ? networkNics(networkInfo, uuid) : storedNics(container.labels);
    return { container, spec: { ...identity(uuid), nics } };
  }
}

/** Where snapshots go; without a registry they are not supported, whichever the instance. */
export function requireRegistry(options: NovaOptions, what = 'snapshot'): string {
  if (!options.registry) throw new NotSupportedError(`${what}: no registry is configured (start the service with --registry host:port)`);
  return options.registry;
}

/** The source container of a resize, kept stopped on its host until the resize is confirmed or reverted. */
export function resizeSourceNameOf(uuid: string): string {
  return `${containerNameOf(uuid)}-resize-source`;
}

function asideReference(uuid: string): VmRef {
  return { ...reference(uuid), containerName: resizeSourceNameOf(uuid) };
}

/** Which VM the instance is. */
export function reference(uuid: string): VmRef {
  if (!UUID.test(uuid)) throw new InvalidInputError(`instance uuid "${uuid.slice(0, 40)}" is not a lower-case uuid`);
  return { frontEnd: 'nova', vmId: uuid, containerName: containerNameOf(uuid) };
}

/** Who the instance is, for verbs on an existing container; what it was made from lives on the container. */
function identity(uuid: string): VmSpec {
  return existingVmSpec(reference(uuid));
}

/** One above the highest NIC index the instance has, counting interfaces plugged inside it since spawn. */
async function nextNicId(access: HostAccess, nics: NicSpec[], vm: VmStatus): Promise<number> {
  const ids = nics.map((nic) => nic.nicId);
  if (vm.running && vm.pid > 0) {
    for (const name of parseNetDev(await access.readFile(netDevPath(vm.pid))).keys()) {
      const match = /^eth(\d+)$/.exec(name);
      if (match) ids.push(Number(match[1]));
    }
  }
  return ids.length ? Math.max(...ids) + 1 : 0;
}
