import { hostname, networkInterfaces } from 'node:os';
import { InvalidInputError } from '../../core/errors.ts';
import type { HostSettings } from '../../core/host-settings.ts';
import { hostServices, openHostServices } from '../../core/host-services.ts';
import { registryReach } from '../../images/registry-reach.ts';
import { hostEngine } from '../../hosts/host-engine.ts';
import { HostStore } from '../../hosts/host-store.ts';
import { SshHostAccess } from '../../hosts/ssh-host-access.ts';
import type { NamedHost } from '../compute-hosts.ts';
import { LOCAL_HOST } from '../nova-instances.ts';

export interface HostChoice {
  /** Hosts recorded by `dockvisor host create`, by name, in the order given. */
  names: string[];
  /** This machine too (first); the default when no host is named. */
  local: boolean;
}

/**
 * The hosts the service manages: this machine through its engine socket and local commands, and each
 * recorded host through one SSH connection for its engine and one for its commands. Nothing connects
 * until the first request; every call to a remote host is bounded by the config's engineTimeoutMs.
 */
export function servedHosts(config: HostSettings, configPath: string | undefined, choice: HostChoice, store = new HostStore()): NamedHost[] {
  const local = choice.local || choice.names.length === 0;
  const seen = new Set<string>();
  for (const name of choice.names) {
    if (name === LOCAL_HOST) throw new InvalidInputError(`--host ${LOCAL_HOST}: this machine is --local`);
    if (seen.has(name)) throw new InvalidInputError(`--host ${name} is given twice`);
    seen.add(name);
  }
  const records = choice.names.map((name) => store.get(name));
  const hosts: NamedHost[] = local ? [{ name: LOCAL_HOST, services: openHostServices(configPath), addresses: ownAddresses() }] : [];
  for (const record of records) {
    const engine = hostEngine(record, config.engineTimeoutMs);
    hosts.push({
      name: record.name,
      addresses: [record.ssh.address],
      services: hostServices(
        config,
        engine,
        new SshHostAccess(record, config.engineTimeoutMs),
        registryReach(engine, () => undefined, config.imagePullTimeoutMs),
      ),
    });
  }
  return hosts;
}

/** This machine's addresses and name, as a nova-compute running on it may give them as its my_ip. */
function ownAddresses(): string[] {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
  return [...new Set([...addresses, hostname()])];
}
