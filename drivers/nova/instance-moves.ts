import { checkFitsHost } from '../core/host-capacity.ts';
import { InvalidInputError, VmNotFoundError } from '../core/errors.ts';
import { isLoopbackRegistry } from '../images/registry/image-name.ts';
import { RegistryClient } from '../images/registry/registry-client.ts';
import { addVolumesLayer } from '../images/image-volume-layer.ts';
import type { DiskInfo, FinishMigrationRequest, InstanceInfo, MigrateRequest, RevertMigrationRequest } from './api-schemas.ts';
import type { ComputeHost, ComputeHosts } from './compute-hosts.ts';
import { onHost } from './host-reach.ts';
import { instanceSpec } from './instance-spec.ts';
import { reference, requireRegistry } from './nova-instances.ts';

/** The tag a saved filesystem travels under: one move of an instance at a time. */
const MOVE_TAG = 'resize';

/**
 * Resize and cold migration, Nova's way, between the service's hosts (or on one): the instance is stopped and its
 * filesystem saved, a new container is made from it with the new flavor, and the old one is kept aside, stopped,
 * until the move is confirmed (it goes) or reverted (it is the instance again). Between hosts the filesystem and
 * the image VOLUMEs travel through the registry as one image; on one host nothing leaves the host.
 */
export class InstanceMoves {
  constructor(private readonly hosts: ComputeHosts) {}

  /** migrate_disk_and_power_off: checks first, then stops the instance and saves what finish_migration needs. */
  async migrate(uuid: string, request: MigrateRequest): Promise<DiskInfo> {
    const source = await this.located(uuid);
    const destination = this.hosts.byAddress(request.dest);
    const sameHost = destination === source;
    const registry = sameHost ? undefined : requireRegistry(this.hosts.options, 'migration to another host');
    const current = await onHost(source.name, () => source.instances.flavor(uuid));
    if (request.flavor.root_gb < current.root_gb)
      throw new InvalidInputError(
        `instance ${uuid}: the new flavor's root_gb ${request.flavor.root_gb} is smaller than its ${current.root_gb} GB; a disk does not shrink`,
      );
    await onHost(destination.name, () =>
      checkFitsHost({ vmId: uuid, vcpu: request.flavor.vcpus, memoryMb: request.flavor.memory_mb }, destination.services.access),
    );
    return onHost(source.name, async () => {
      await source.instances.stop(uuid, request.timeout);
      const moves = source.services.moves;
      if (!registry) {
        const image = await moves.saveFilesystem(reference(uuid), { repository: `dockvisor-nova-resize/${uuid}`, tag: MOVE_TAG }, false, 0);
        return { source_host: source.name, image, same_host: true };
      }
      const repository = migrationRepository(uuid);
      await moves.saveFilesystem(reference(uuid), { repository: `${registry}/${repository}`, tag: MOVE_TAG }, true, this.hosts.options.pushTimeoutMs);
      // The engine saves the container without its volumes: the image VOLUMEs' files join the image as one more layer.
      const client = registryClient(registry);
      try {
        await addVolumesLayer((timeoutMs) => moves.openImageVolumes(reference(uuid), timeoutMs), `instance ${uuid}`, client, repository, MOVE_TAG);
        const digest = await client.resolveManifest(repository, MOVE_TAG);
        if (!digest) throw new InvalidInputError(`instance ${uuid}: the registry ${registry} lost its saved filesystem on its way`);
        return { source_host: source.name, image: `${registry}/${repository}@${digest}`, same_host: false };
      } finally {
        await client.close();
      }
    });
  }

  /**
   * finish_migration: the source container is put aside and the instance made again on the destination from its
   * saved filesystem, with the new flavor, its VIFs and its uuid. A retry after a success changes nothing; a
   * failure removes what it made there and brings the source container back.
   */
  async finish(uuid: string, request: FinishMigrationRequest): Promise<InstanceInfo> {
    const { disk_info: disk, ...instance } = request;
    const destination = this.hosts.named(request.host);
    const source = this.hosts.named(disk.source_host);
    if (disk.same_host !== (source === destination))
      throw new InvalidInputError(`instance ${uuid}: disk_info was saved for ${disk.same_host ? 'the same host' : 'another host'} than ${destination.name}`);
    const spec = instanceSpec({ ...instance, uuid, image: disk.image });
    const putAside = await onHost(source.name, async () => {
      if (await source.instances.hasAside(uuid)) return false;
      await source.instances.putAside(uuid);
      return true;
    });
    try {
      const info = await onHost(destination.name, async () => {
        if (!disk.same_host) await destination.services.moves.fetchImage(disk.image);
        return destination.instances.place(spec, request.power_on !== false);
      });
      this.hosts.remember(uuid, destination);
      return info;
    } catch (error) {
      if (!disk.same_host) await onHost(destination.name, () => destination.services.moves.untag(disk.image)).catch(() => undefined);
      if (putAside) await onHost(source.name, () => source.instances.bringBack(uuid)).catch(() => undefined);
      throw error;
    }
  }

  /** confirm_migration: the source container kept aside goes, with the saved filesystem in the registry. */
  async confirm(uuid: string): Promise<void> {
    for (const host of await this.hosts.allWith((candidate) => candidate.instances.hasAside(uuid))) {
      await onHost(host.name, () => host.instances.dropAside(uuid));
    }
    await this.forgetSaved(uuid);
  }

  /**
   * finish_revert_migration: the new container goes (nova-compute has usually destroyed it already), the source
   * container is the instance again with its old flavor, started when `power_on`. Repeating it changes nothing.
   */
  async revert(uuid: string, request: RevertMigrationRequest): Promise<InstanceInfo> {
    const [source] = await this.hosts.allWith((candidate) => candidate.instances.hasAside(uuid));
    if (source) {
      const current = await this.hosts.locate(uuid);
      if (current) await onHost(current.name, () => current.instances.destroy(uuid));
      await onHost(source.name, () => source.instances.bringBack(uuid));
      this.hosts.remember(uuid, source);
    }
    await this.forgetSaved(uuid);
    const host = await this.located(uuid);
    return onHost(host.name, () => (request.power_on === false ? host.instances.info(uuid) : host.instances.powerOn(uuid, request.network_info)));
  }

  private async located(uuid: string): Promise<ComputeHost> {
    const host = await this.hosts.locate(uuid);
    if (!host) throw new VmNotFoundError(`instance ${uuid} not found on any of the hosts ${this.hosts.hosts.map((h) => h.name).join(', ')}`);
    return host;
  }

  /** Deletes the saved filesystem from the registry; a registry that refuses deletes keeps it, which is no error. */
  private async forgetSaved(uuid: string): Promise<void> {
    const registry = this.hosts.options.registry;
    if (!registry) return;
    const client = registryClient(registry);
    try {
      const digest = await client.resolveManifest(migrationRepository(uuid), MOVE_TAG);
      if (digest) await client.deleteManifest(migrationRepository(uuid), digest);
    } catch {
      // kept in the registry; the next move of the instance overwrites its tag
    } finally {
      await client.close();
    }
  }
}

/** The repository where an instance's filesystem travels between hosts. */
function migrationRepository(uuid: string): string {
  return `nova-migrations/${uuid}`;
}

/** The service's registry as the service itself reaches it: plain HTTP on loopback, as the engines do. */
function registryClient(registry: string): RegistryClient {
  return new RegistryClient({ address: registry, tls: !isLoopbackRegistry(registry) });
}
