import { EngineClient } from '../engine/engine-client.ts';
import { CommandRunner } from './command-runner.ts';
import { loadHostConfig, type HostConfig } from './host-config.ts';
import { NicPlumbing } from './nic-plumbing.ts';
import { VmLifecycle } from './vm-lifecycle.ts';

/** Everything an action needs on a host, wired once from the host's config. */
export interface HostServices {
  config: HostConfig;
  engine: EngineClient;
  vms: VmLifecycle;
  close(): Promise<void>;
}

export function openHostServices(configPath: string | undefined): HostServices {
  const config = loadHostConfig(configPath);
  const engine = new EngineClient({ kind: 'unix', socketPath: config.engineSocket }, { timeoutMs: config.engineTimeoutMs });
  const commands = new CommandRunner(config.rootCommandPrefix);
  const vms = new VmLifecycle(engine, new NicPlumbing(commands), config, commands);
  return { config, engine, vms, close: () => engine.close() };
}
