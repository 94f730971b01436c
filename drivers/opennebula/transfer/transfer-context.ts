import { openEngine, type HostEngine } from '../../core/open-engine.ts';
import { HostDisks } from '../../images/host-disks.ts';
import { RegistryClient } from '../../images/registry/registry-client.ts';
import { isFrontEnd } from './front-end.ts';
import { oneContainerName } from '../one-labels.ts';
import { parkedOn } from './parked-vms.ts';
import type { HostPath } from './tm-args.ts';
import { hostEndpoint, registryCredentialsFor, registryEndpointFor, type KeeperUse, type TmConfig } from './tm-config.ts';

/** What every transfer action works with: the front-end's config and one SSH connection per host it touches (its own, or the keeper's). */
export class TransferContext {
  private readonly engines = new Map<string, HostEngine>();
  private readonly registries = new Map<string, RegistryClient>();

  constructor(
    readonly config: TmConfig,
    /** Set when the action may go through the front-end's connection keeper. */
    private readonly keeper?: KeeperUse,
  ) {}

  disksOn(host: string): HostDisks {
    let engine = this.engines.get(host);
    if (!engine) {
      engine = openEngine(hostEndpoint(this.config, host, this.keeper), this.config.engineTimeoutMs);
      this.engines.set(host, engine);
    }
    return new HostDisks(engine, (registry) => registryCredentialsFor(this.config, registry), this.config.pullTimeoutMs, oneContainerName);
  }

  isFrontEnd(host: string): boolean {
    return isFrontEnd(this.config, host);
  }

  /** The host that keeps what oned places at `path`: for the front-end, the one the VM is parked on; else its own. */
  hostHolding(path: HostPath, vmId: number): string {
    return (this.isFrontEnd(path.host) && parkedOn(path, vmId)) || path.host;
  }

  registry(address: string): RegistryClient {
    let client = this.registries.get(address);
    if (!client) {
      client = new RegistryClient(registryEndpointFor(this.config, address));
      this.registries.set(address, client);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.engines.values()].map((engine) => engine.close()));
    await Promise.all([...this.registries.values()].map((registry) => registry.close()));
  }
}
