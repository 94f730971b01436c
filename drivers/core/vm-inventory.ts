import type { Engine } from '../engine/engine.ts';
import { LABEL_IMAGE_VOLUME } from './image-volumes.ts';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE, ownedContainerFilter, type FrontEnd } from './labels.ts';
import { endedInOomKill } from './oom-kill.ts';
import { EXIT_OUTPUT_LINES, vmStatusFromSummary, type HostEngineFacts, type VmExit, type VmStatus } from './vm-status.ts';

/** The VMs on a host as a front-end lists them, and what the host's engine says of itself. */
export class VmInventory {
  constructor(private readonly engine: Engine) {}

  /**
   * dockvisor's VMs on the host, stopped ones included; with a front-end only that front-end's. `withSizes`
   * adds each one's root disk size, which the engine measures on disk: slow on a dense host, use sparingly.
   */
  async list(frontEnd?: FrontEnd, options: { withSizes?: boolean } = {}): Promise<VmStatus[]> {
    const containers = await this.engine.listContainers(ownedContainerFilter(frontEnd), options.withSizes);
    return containers.map((container) => {
      const status = vmStatusFromSummary(container);
      // The engine leaves the size out for a layer nothing was written to yet.
      return options.withSizes ? { ...status, diskBytes: status.diskBytes ?? 0 } : status;
    });
  }

  /** How the VM's last run ended, with the last lines it wrote; undefined when it is gone or has never run. */
  async lastExit(containerName: string): Promise<VmExit | undefined> {
    const container = await this.engine.findContainer(containerName);
    if (!container || container.State.Running || container.State.FinishedAt.startsWith('0001-')) return undefined;
    const output = await this.engine.containerLogs(containerName, EXIT_OUTPUT_LINES).catch(() => '');
    return {
      exitCode: container.State.ExitCode,
      oomKilled: await endedInOomKill(this.engine, container),
      error: container.State.Error,
      finishedAt: container.State.FinishedAt,
      lastLines: output
        .split('\n')
        .filter((line) => line.trim() !== '')
        .slice(-EXIT_OUTPUT_LINES),
    };
  }

  /** The named volumes that hold the VMs' image VOLUME paths, with the VM and the path each belongs to. */
  async imageVolumes(frontEnd: FrontEnd): Promise<{ vmId: string; volume: string; path: string }[]> {
    const volumes = await this.engine.describeVolumes([`${LABEL_OWNER}=${OWNER_VALUE}`, `${LABEL_FRONT_END}=${frontEnd}`, LABEL_IMAGE_VOLUME]);
    return volumes
      .map((v) => ({ vmId: v.Labels[LABEL_VM_ID] ?? '', volume: v.Name, path: v.Labels[LABEL_IMAGE_VOLUME] ?? '' }))
      .sort((a, b) => a.volume.localeCompare(b.volume, 'en', { numeric: true }));
  }

  /** Bytes each volume holds, by name: the engine measures every volume at once, so use sparingly. */
  volumeSizes(): Promise<Record<string, number>> {
    return this.engine.volumeSizes();
  }

  /** True when a container of that name is on the host, whoever made it. */
  async nameTaken(containerName: string): Promise<boolean> {
    return (await this.engine.findContainer(containerName)) !== undefined;
  }

  async engineFacts(): Promise<HostEngineFacts> {
    const info = await this.engine.info();
    return {
      version: info.ServerVersion,
      storageDriver: info.Driver,
      dataRoot: info.DockerRootDir,
      hostname: info.Name,
      cpus: info.NCPU,
      memoryBytes: info.MemTotal,
      architecture: info.Architecture,
      runtimes: runtimeNames(info.Runtimes, info.DefaultRuntime),
    };
  }
}

/** The engine's runtimes, its default first and the rest by name. */
function runtimeNames(runtimes: Record<string, unknown> | undefined, defaultRuntime: string | undefined): string[] {
  const names = Object.keys(runtimes ?? {}).sort();
  return defaultRuntime && names.includes(defaultRuntime) ? [defaultRuntime, ...names.filter((name) => name !== defaultRuntime)] : names;
}
