import { EngineClient } from '../engine/engine-client.ts';
import { CommandRunner } from './command-runner.ts';
import { LocalHostAccess, type HostAccess } from './host-access.ts';
import { loadHostConfig, type HostConfig } from './host-config.ts';
import { NicPlumbing } from './nic-plumbing.ts';
import { VmLifecycle } from './vm-lifecycle.ts';

/** Everything an action needs on a host, wired once from the host's config. */
export interface HostServices {
  config: HostConfig;
  engine: EngineClient;
  /** Commands, files and links on the host the engine runs on. */
  access: HostAccess;
  vms: VmLifecycle;
  close(): Promise<void>;
}

export function openHostServices(configPath: string | undefined): HostServices {
  const config = loadHostConfig(configPath);
  const engine = new EngineClient({ kind: 'unix', socketPath: config.engineSocket }, { timeoutMs: config.engineTimeoutMs });
  return hostServices(config, engine, new LocalHostAccess(new CommandRunner(config.rootCommandPrefix)));
}

/** The core's verbs on the host an engine and a HostAccess reach; closing closes both. */
export function hostServices(config: HostConfig, engine: EngineClient, access: HostAccess): HostServices {
  const vms = new VmLifecycle(engine, new NicPlumbing(access), config, access);
  return { config, engine, access, vms, close: async () => void (await Promise.allSettled([engine.close(), access.close()])) };
}
