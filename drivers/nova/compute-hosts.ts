import { HostUnavailableError, InvalidInputError, VmConflictError, VmNotFoundError } from '../core/errors.ts';
import type { HostServices } from '../core/host-services.ts';
import { onHost } from './host-reach.ts';
import { containerNameOf } from './instance-spec.ts';
import { NovaInstances, type ListedInstance, type NovaOptions } from './nova-instances.ts';

/** A host the service manages, under the name requests use for it. */
export interface NamedHost {
  name: string;
  services: HostServices;
  /** The addresses Nova may know the host by (its my_ip): its SSH address, or this machine's own for `local`. */
  addresses?: string[];
}

export interface ComputeHost extends NamedHost {
  instances: NovaInstances;
}

/**
 * The hosts the compute service manages. An instance is found by its container, nova-<uuid>, on the
 * hosts' engines; the last host it was seen on is asked first, but only an engine's answer counts.
 */
export class ComputeHosts {
  readonly hosts: ComputeHost[];
  private readonly lastSeenOn = new Map<string, ComputeHost>();

  constructor(
    hosts: NamedHost[],
    readonly options: NovaOptions,
  ) {
    if (hosts.length === 0) throw new InvalidInputError('the compute service needs at least one host');
    this.hosts = hosts.map((host) => ({ ...host, instances: new NovaInstances(host.services, options, host.name) }));
  }

  /** The named host, or the first one when no name is given. */
  named(name: string | undefined): ComputeHost {
    if (name === undefined) return this.hosts[0]!;
    const host = this.hosts.find((candidate) => candidate.name === name);
    if (!host) throw new InvalidInputError(`host ${name} is not managed by this service (it manages ${this.hosts.map((h) => h.name).join(', ')})`);
    return host;
  }

  /** The host Nova names by its address (a compute's my_ip) or by the host's own name; refused with 400 when none is. */
  byAddress(address: string): ComputeHost {
    const host = this.hosts.find((candidate) => candidate.name === address || candidate.addresses?.includes(address));
    if (!host)
      throw new InvalidInputError(
        `destination ${address} is no host of this service: neither the name nor an address of ${this.hosts.map((h) => h.name).join(', ')}`,
      );
    return host;
  }

  /** The hosts that answer yes to `test`, asking all of them at once; a host that cannot be asked fails the question. */
  async allWith(test: (host: ComputeHost) => Promise<boolean>): Promise<ComputeHost[]> {
    const answers = await Promise.all(this.hosts.map((host) => onHost(host.name, () => test(host))));
    return this.hosts.filter((_host, i) => answers[i]);
  }

  /** Notes where the instance is now, after it moved. */
  remember(uuid: string, host: ComputeHost): void {
    this.lastSeenOn.set(uuid, host);
  }

  /** Runs a verb on the host the instance is on; refused with 404 when no host has it. */
  async onInstance<T>(uuid: string, verb: (instances: NovaInstances) => Promise<T>): Promise<T> {
    const host = await this.locate(uuid);
    if (!host) throw new VmNotFoundError(`instance ${uuid} not found on ${this.everywhere()}`);
    return onHost(host.name, () => verb(host.instances));
  }

  /** Runs a verb on a named host (the first by default), remembering where the instance went. */
  async onHostFor<T>(name: string | undefined, uuid: string, verb: (instances: NovaInstances) => Promise<T>): Promise<T> {
    const host = this.named(name);
    const result = await onHost(host.name, () => verb(host.instances));
    this.lastSeenOn.set(uuid, host);
    return result;
  }

  /**
   * Spawns on the named host (the first by default). An instance of that uuid on another host is a conflict,
   * never a second copy; a host that does not answer cannot be asked and does not hold the spawn up.
   */
  async spawnOn<T>(name: string | undefined, uuid: string, spawn: (instances: NovaInstances) => Promise<T>): Promise<T> {
    const target = this.named(name);
    const containerName = containerNameOf(uuid);
    const elsewhere = await Promise.all(
      this.hosts
        .filter((host) => host !== target)
        .map((host) =>
          host.services.inventory.nameTaken(containerName).then(
            (found) => (found ? host.name : undefined),
            () => undefined,
          ),
        ),
    );
    const holder = elsewhere.find((found) => found !== undefined);
    if (holder) throw new VmConflictError(`instance ${uuid} exists already on host ${holder}; it is not spawned again on ${target.name}`);
    return this.onHostFor(target.name, uuid, spawn);
  }

  /**
   * The host whose engine has the instance's container; undefined when every host answered that none has.
   * A host that does not answer is named in a HostUnavailableError, unless another host has the instance.
   */
  async locate(uuid: string): Promise<ComputeHost | undefined> {
    const name = containerNameOf(uuid);
    const has = (host: ComputeHost) => onHost(host.name, () => host.services.inventory.nameTaken(name));
    const cached = this.lastSeenOn.get(uuid);
    if (cached && (await has(cached).catch(() => false))) return cached;
    this.lastSeenOn.delete(uuid);
    const found = await firstWith(this.hosts, has);
    if (found) this.lastSeenOn.set(uuid, found);
    return found;
  }

  /** Instances of one host, or of all of them; a host that does not answer fails the whole list. */
  async list(name: string | undefined): Promise<ListedInstance[]> {
    const hosts = name === undefined ? this.hosts : [this.named(name)];
    const lists = await Promise.all(hosts.map((host) => onHost(host.name, () => host.instances.list())));
    return lists.flat();
  }

  /** All the hosts, as a not-found message names them: "this host" when it is the only one, as before. */
  private everywhere(): string {
    return this.hosts.length === 1 ? this.hosts[0]!.services.access.name : `any of the hosts ${this.hosts.map((h) => h.name).join(', ')}`;
  }

  forget(uuid: string): void {
    this.lastSeenOn.delete(uuid);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.hosts.map((host) => host.services.close()));
  }
}

/** The first host for which `test` holds, without waiting for slower hosts once one does. */
function firstWith(hosts: ComputeHost[], test: (host: ComputeHost) => Promise<boolean>): Promise<ComputeHost | undefined> {
  return new Promise((resolve, reject) => {
    let pending = hosts.length;
    const failures: HostUnavailableError[] = [];
    const settle = () => {
      if (--pending > 0) return;
      if (failures.length === 0) return resolve(undefined);
      reject(failures.length === 1 ? failures[0] : new HostUnavailableError(failures.map((failure) => failure.message).join('; ')));
    };
    for (const host of hosts) {
      test(host).then(
        (yes) => (yes ? resolve(host) : settle()),
        (error: unknown) => {
          failures.push(error instanceof HostUnavailableError ? error : new HostUnavailableError(`host ${host.name}: ${(error as Error).message}`));
          settle();
        },
      );
    }
  });
}
