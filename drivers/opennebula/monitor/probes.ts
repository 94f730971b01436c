import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostSettings } from '../../core/host-settings.ts';
import type { FrontEnd } from '../../core/labels.ts';
import { LABEL_ONE_ROOT_DISK } from '../one-labels.ts';
import { prepareUserStateDir } from '../../core/state-dir.ts';
import type { VmInventory } from '../../core/vm-inventory.ts';
import type { VmStatus } from '../../core/vm-status.ts';
import { CgroupLayout } from '../../monitoring/cgroup-layout.ts';
import { guestStatuses, type GuestStatus } from '../../monitoring/guest-states.ts';
import { sampleGuestUsage, type GuestUsage } from '../../monitoring/guest-usage.ts';
import { filesystemMb, systemHostFigures, locallyMonitoredDatastores } from './system-host-figures.ts';
import { hostUsage } from './host-usage.ts';
import { stateReport } from './state-changes.ts';
import { writableLayerSizes } from '../../monitoring/writable-layers.ts';
import { measuredVolumeSizes } from '../../monitoring/volume-sizes.ts';
import { isThisFrontEnds } from '../front-end-identity.ts';
import type { MonitorConfig } from './monitor-config.ts';
import { CommandRecords } from '../../core/command-records.ts';
import { knownExits, withExits } from '../../monitoring/exit-facts.ts';
import {
  datastoreLine,
  executionLine,
  exitKeys,
  healthKeys,
  diskSizeLine,
  imageVolumeLine,
  keyLines,
  monitorKeys,
  monitorLine,
  pollString,
  pollVmLine,
  stateLines,
} from './probe-format.ts';

export interface ProbeContext {
  hypervisor: string;
  host: HostSettings;
  monitor: MonitorConfig;
  inventory: VmInventory;
  /** The remotes tree the probe runs from (/var/tmp/one on a host), where OpenNebula keeps VERSION. */
  remotesDir: string;
  cgroupRoot?: string;
  /** Where to say what could not be read without failing the probe. */
  warn: (line: string) => void;
}

export type Probe = (context: ProbeContext) => Promise<string>;

const FRONT_END: FrontEnd = 'opennebula';
/** The output one vm/execution report carries at most, so that its UDP message (compressed, base64) stays below 64 KiB. */
const EXEC_REPORT_BUDGET = 32 * 1024;
const statePath = (context: ProbeContext, kind: string) => join(prepareUserStateDir(context.host), `${kind}-host-${context.monitor.hostId}.json`);

/** The probes of remotes/im/dockvisor-probes.d, and the 5.x one-shot output. */
export const probes: Record<string, Probe> = {
  async 'host-system'(context) {
    const facts = systemHostFigures();
    const engine = await context.inventory.engineFacts();
    const versionFile = join(context.remotesDir, 'VERSION');
    const lines = keyLines([
      ['HYPERVISOR', context.hypervisor],
      ['HOSTNAME', facts.hostname],
      ['ARCH', facts.arch],
      ['MODELNAME', facts.modelName],
      ['CPUSPEED', facts.cpuSpeedMhz],
      ['TOTALCPU', facts.totalCpu],
      ['TOTALMEMORY', facts.totalMemoryKb],
      ['CGROUPS_VERSION', facts.cgroupsVersion],
      ['VERSION', existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : undefined],
      ['DOCKER_VERSION', engine.version],
      ['DOCKER_STORAGE_DRIVER', engine.storageDriver],
      // One word list, so that SCHED_REQUIREMENTS can ask for a runtime: RUNTIMES = "*runsc*".
      ['RUNTIMES', engine.runtimes.join(' ')],
    ]);
    return lines + datastoreLines(context, engine.dataRoot);
  },

  async 'host-monitor'(context) {
    const usage = await hostUsage(statePath(context, 'host-cpu'));
    return keyLines([
      ['HYPERVISOR', context.hypervisor],
      ['USEDMEMORY', usage.usedMemoryKb],
      ['FREEMEMORY', usage.freeMemoryKb],
      ['USEDCPU', usage.usedCpu],
      ['FREECPU', usage.freeCpu],
      ['NETRX', usage.netRx],
      ['NETTX', usage.netTx],
    ]);
  },

  async 'vm-status'(context) {
    const containers = await ourContainers(context);
    const exits = await knownExits(statePath(context, 'vm-status-exits'), containers, (name) => context.inventory.lastExit(name));
    const statuses = guestStatuses(withExits(containers, exits), FRONT_END);
    const report = stateReport(statePath(context, 'vm-status'), statuses, Math.floor(Date.now() / 1000), context.monitor.syncStateSeconds);
    return stateLines(report);
  },

  /** How the commands `exec` ran have ended, each once, as OpenNebula's KVM guest-agent probe reports them. */
  async 'vm-execution'(context) {
    const finished = new CommandRecords(() => prepareUserStateDir(context.host)).takeFinished(EXEC_REPORT_BUDGET);
    return finished
      .filter((command) => command.ref.frontEnd === FRONT_END)
      .map((command) => `${executionLine(command)}\n`)
      .join('');
  },

  async 'vm-monitor'(context) {
    const containers = await ourContainers(context);
    const { usage } = await guestUsage(context, containers);
    const disks = await diskSizes(context, containers);
    const volumes = await imageVolumeLines(context, containers);
    for (const [name, lines] of volumes) disks.set(name, (disks.get(name) ?? '') + lines);
    const health = new Map(containers.map((vm) => [vm.name, vm.health]));
    const lines = usage.map((vm) => monitorLine(vm, monitorKeys(vm) + healthKeys(health.get(vm.name)) + (disks.get(vm.name) ?? '')));
    // Stopped VMs use no CPU or memory, but their disks still take room in the datastore, and how they ended matters.
    const measured = new Set(usage.map((vm) => vm.name));
    const exits = await knownExits(statePath(context, 'vm-monitor-exits'), containers, (name) => context.inventory.lastExit(name));
    for (const status of guestStatuses(withExits(containers, exits), FRONT_END)) {
      if (measured.has(status.name)) continue;
      const exit = exits.get(status.name);
      const keys = (exit ? exitKeys(exit, status.state) : '') + (disks.get(status.name) ?? '');
      if (keys) lines.push(monitorLine(status, keys));
    }
    return lines.join('');
  },

  /** OpenNebula 5.x: host figures, VM_POLL=YES and one VM=[..., POLL="..."] per VM, in one output. */
  async 'poll-5x'(context) {
    const containers = await ourContainers(context);
    const statuses = guestStatuses(containers, FRONT_END);
    const { usage } = await guestUsage(context, containers);
    const byName = new Map(usage.map((vm) => [vm.name, vm]));
    const host = (await probes['host-system']!(context)) + (await probes['host-monitor']!(context)).replace(/^HYPERVISOR=.*\n/m, '');
    const vms = statuses.map((vm) => pollVmLine(vm, pollString(vm, byName.get(vm.name))));
    return `${host}VM_POLL=YES\n${vms.join('')}`;
  },
};

/**
 * `tm/dockvisor/monitor_ds <datastore dir>` on a host, as OpenNebula's datastore monitoring runs it: the size
 * of each VM's root disk (its container's writable layer), one `VM = [...]` line a VM.
 */
export const datastoreDiskProbe: Probe = async (context) => {
  const containers = await ourContainers(context);
  const lines = await diskSizes(context, containers);
  return guestStatuses(containers, FRONT_END)
    .filter((vm) => lines.has(vm.name))
    .map((vm) => monitorLine(vm, lines.get(vm.name)!))
    .join('');
};

async function ourContainers(context: ProbeContext): Promise<VmStatus[]> {
  const vms = await context.inventory.list(FRONT_END);
  return vms.filter((vm) => isThisFrontEnds(vm, context.host));
}

async function guestUsage(context: ProbeContext, containers: VmStatus[]): Promise<{ usage: GuestUsage[] }> {
  const idByName = new Map(containers.map((c) => [c.name, c.containerId]));
  const guests = guestStatuses(containers, FRONT_END)
    .filter((vm: GuestStatus) => vm.state === 'running' || vm.state === 'suspended')
    .map((vm) => ({ ...vm, containerId: idByName.get(vm.name)! }));
  const layout = new CgroupLayout(context.cgroupRoot);
  const result = await sampleGuestUsage(guests, layout, statePath(context, 'vm-cpu'));
  for (const name of result.unreadable) context.warn(`${name}: its cgroup could not be read; left out of this report`);
  return result;
}

/** `DISK_SIZE=[ID=<root disk>,SIZE=<MB>]` per VM whose root disk is its writable layer. */
async function diskSizes(context: ProbeContext, containers: VmStatus[]): Promise<Map<string, string>> {
  const withDisk = containers.filter((c) => c.labels[LABEL_ONE_ROOT_DISK] !== undefined);
  const lines = new Map<string, string>();
  if (withDisk.length === 0) return lines;
  const bytes = await writableLayerSizes(
    () => context.inventory.list(FRONT_END, { withSizes: true }),
    statePath(context, 'disk-sizes'),
    Math.floor(Date.now() / 1000),
  );
  for (const container of withDisk) {
    const name = container.name;
    const size = bytes[name];
    if (size !== undefined) lines.set(name, diskSizeLine(container.labels[LABEL_ONE_ROOT_DISK]!, size));
  }
  return lines;
}

/** `IMAGE_VOLUME=[PATH, NAME, SIZE]` for each path a VM's image declares as VOLUME, by the VM's container name. */
async function imageVolumeLines(context: ProbeContext, containers: VmStatus[]): Promise<Map<string, string>> {
  const nameOf = new Map(containers.map((c) => [c.vmId, c.name]));
  const volumes = (await context.inventory.imageVolumes(FRONT_END)).filter((v) => nameOf.has(v.vmId));
  const lines = new Map<string, string>();
  if (volumes.length === 0) return lines;
  const bytes = await measuredVolumeSizes(
    volumes.map((v) => v.volume),
    () => context.inventory.volumeSizes(),
    statePath(context, 'volume-sizes'),
    Math.floor(Date.now() / 1000),
  );
  for (const volume of volumes) {
    const name = nameOf.get(volume.vmId)!;
    lines.set(name, (lines.get(name) ?? '') + imageVolumeLine(volume, bytes[volume.volume]));
  }
  return lines;
}

/** Capacity of the filesystems holding the VMs: Docker's data root, and each locally monitored system datastore. */
function datastoreLines(context: ProbeContext, dockerRoot: string): string {
  const root = filesystemMb(dockerRoot);
  let lines = keyLines([
    ['DS_LOCATION_USED_MB', root.usedMb],
    ['DS_LOCATION_TOTAL_MB', root.totalMb],
    ['DS_LOCATION_FREE_MB', root.freeMb],
  ]);
  for (const ds of locallyMonitoredDatastores(context.monitor.datastoreLocation ?? '/var/lib/one/datastores')) {
    const fs = ds.tmMad === 'dockvisor' ? root : filesystemMb(ds.path);
    lines += datastoreLine(ds.id, fs);
  }
  return lines;
}
