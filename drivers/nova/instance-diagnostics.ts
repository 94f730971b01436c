import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HostServices } from '../core/host-services.ts';
import { netDevPath, parseNetDev } from '../core/net-dev.ts';
import { prepareUserStateDir, userStateDir } from '../core/state-dir.ts';
import type { VmExit, VmStatus } from '../core/vm-status.ts';
import { CgroupLayout } from '../monitoring/cgroup-layout.ts';
import { sampleGuestUsage, type GuestUsage } from '../monitoring/guest-usage.ts';
import type { InstanceDiagnostics } from './diagnostics-schemas.ts';
import { parseFlavor } from './host-resources.ts';
import { storedNics } from './instance-spec.ts';
import { NOVA_LABEL_RESOURCES } from './nova-labels.ts';
import { PowerState, type PowerStateName } from './power-state.ts';

/** The name the root disk goes by in diagnostics and block_stats, as a libvirt guest's first disk. */
export const ROOT_DISK = 'vda';

/**
 * What an operator sees of one instance: CPU, memory and disk from its cgroup as the OpenNebula probes read them,
 * its interfaces' counters, its HEALTHCHECK status while it runs and how its last run ended once it stopped.
 * Cgroups are read on this machine only: on a host reached over SSH those counters are left empty.
 */
export async function instanceDiagnostics(host: HostServices, uuid: string, vm: VmStatus, state: PowerStateName): Promise<InstanceDiagnostics> {
  const running = vm.running && vm.pid > 0;
  const [usage, nics, exit] = await Promise.all([
    running && host.access.local ? cgroupUsage(host, vm) : undefined,
    running ? interfaceCounters(host, vm) : [],
    running ? undefined : host.inventory.lastExit(vm.name),
  ]);
  const started = Date.parse(vm.startedAt);
  return {
    uuid,
    state,
    power_state: PowerState[state],
    hypervisor: 'docker',
    hypervisor_os: 'linux',
    uptime: running && Number.isFinite(started) ? Math.max(0, Math.floor((Date.now() - started) / 1000)) : null,
    health: vm.health ?? null,
    cpu_details: usage ? [{ id: 0, time: usage.cpuNanoseconds, utilisation: Math.round(usage.cpuPercent) }] : [],
    memory_details: {
      maximum: parseFlavor(vm.labels[NOVA_LABEL_RESOURCES]).memory_mb || null,
      used: usage ? Math.round(usage.memoryKb / 1024) : null,
    },
    nic_details: nics,
    disk_details: usage
      ? [
          {
            name: ROOT_DISK,
            read_bytes: usage.diskReadBytes,
            read_requests: usage.diskReadOps,
            write_bytes: usage.diskWriteBytes,
            write_requests: usage.diskWriteOps,
            errors_count: 0,
          },
        ]
      : [],
    last_exit: exit ? lastExit(exit) : null,
  };
}

/** One sample against the previous diagnostics of the same instance, kept in the state directory as the poll line's is. */
async function cgroupUsage(host: HostServices, vm: VmStatus): Promise<GuestUsage | undefined> {
  const statePath = join(prepareUserStateDir(host.config), `diagnostics-${vm.name}.json`);
  const { usage } = await sampleGuestUsage([{ vmId: vm.vmId, name: vm.name, containerId: vm.containerId }], new CgroupLayout(), statePath);
  return usage[0];
}

/** Every interface inside but loopback, with the MAC Nova gave it when it is one of the instance's recorded VIFs. */
async function interfaceCounters(host: HostServices, vm: VmStatus): Promise<InstanceDiagnostics['nic_details']> {
  const macs = new Map(storedNics(vm.labels).map((nic) => [`eth${nic.nicId}`, nic.mac]));
  const counters = parseNetDev(await host.access.readFile(netDevPath(vm.pid)).catch(() => ''));
  return [...counters]
    .filter(([name]) => name !== 'lo')
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([name, c]) => ({
      name,
      mac_address: macs.get(name) ?? null,
      rx_octets: c.rx,
      rx_packets: c.rxPackets,
      rx_errors: c.rxErrors,
      rx_drop: c.rxDrop,
      tx_octets: c.tx,
      tx_packets: c.txPackets,
      tx_errors: c.txErrors,
      tx_drop: c.txDrop,
    }));
}

function lastExit(exit: VmExit): NonNullable<InstanceDiagnostics['last_exit']> {
  return { exit_code: exit.exitCode, oom_killed: exit.oomKilled, error: exit.error, finished_at: exit.finishedAt, last_lines: exit.lastLines };
}

/** Drops the CPU sample kept for an instance's diagnostics, once it is gone. */
export function forgetDiagnostics(host: HostServices, containerName: string): void {
  rmSync(join(userStateDir(host.config), `diagnostics-${containerName}.json`), { force: true });
}
