import type { Engine } from '../engine/engine.ts';
import { ContainerMoves } from './container-moves.ts';
import { CommandRunner } from './command-runner.ts';
import { directReach, HostImages, type RegistryReach } from './host-images.ts';
import { LocalHostAccess, type HostAccess } from './host-access.ts';
import { openEngine } from './open-engine.ts';
import { loadHostSettings, type HostSettings } from './host-settings.ts';
import { NicPlumbing } from './nic-plumbing.ts';
import { VmInventory } from './vm-inventory.ts';
import { VmLifecycle } from './vm-lifecycle.ts';
import { VmCommands } from './vm-commands.ts';
import { prepareUserStateDir } from './state-dir.ts';

/** Everything an action needs on a host, wired once from the host's config. The engine stays inside. */
export interface HostServices {
  config: HostSettings;
  /** Commands, files and links on the host the engine runs on. */
  access: HostAccess;
  vms: VmLifecycle;
  /** Cold moves of stopped VMs: saved filesystems, image volumes, containers put aside. */
  moves: ContainerMoves;
  inventory: VmInventory;
  /** Commands run in VMs (exec), kept in the user's state directory. */
  commands: VmCommands;
  close(): Promise<void>;
}

export function openHostServices(configPath: string | undefined): HostServices {
  const config = loadHostSettings(configPath);
  return hostServices(config, localEngine(config), new LocalHostAccess(new CommandRunner(config.rootCommandPrefix)));
}

/** The engine on this machine, as the host config names its socket. */
export function localEngine(config: Pick<HostSettings, 'engineSocket' | 'engineTimeoutMs'>): Engine {
  return openEngine({ socketPath: config.engineSocket }, config.engineTimeoutMs);
}

/** The core's verbs on the host an engine and a HostAccess reach, pulling and pushing through `reach`; closing closes both. */
export function hostServices(config: HostSettings, engine: Engine, access: HostAccess, reach: RegistryReach = directReach): HostServices {
  const images = new HostImages(engine, reach);
  const vms = new VmLifecycle(engine, new NicPlumbing(access), config, access, images);
  const moves = new ContainerMoves(engine, images, config.imagePullTimeoutMs);
  const inventory = new VmInventory(engine);
  const commands = new VmCommands(engine, access, () => prepareUserStateDir(config));
  return { config, access, vms, moves, inventory, commands, close: async () => void (await Promise.allSettled([engine.close(), access.close()])) };
}
