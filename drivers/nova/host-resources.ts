import type { HostAccess } from '../core/host-access.ts';
import type { HostServices } from '../core/host-services.ts';
import type { AvailableResource, Inventory } from './api-schemas.ts';
import { NOVA_LABEL_RESOURCES } from './nova-labels.ts';
import { HostSetupError } from '../core/errors.ts';

/** Nova's defaults for a new compute node; the shim replaces them with nova.conf's when set there. */
const DEFAULT_RATIOS = { VCPU: 4.0, MEMORY_MB: 1.0, DISK_GB: 1.0 };

/**
 * The host as Nova's resource tracker wants it: totals from the engine (what containers can use), used
 * values as the sum of Nova's instances' flavors, stopped ones included, as Nova accounts them. What the
 * engine does not say (CPU model, disk space) is read on the host itself, through its HostAccess.
 */
export async function availableResource(host: HostServices): Promise<AvailableResource> {
  const [facts, vms, modelName] = await Promise.all([host.inventory.engineFacts(), host.inventory.list('nova'), cpuModel(host.access)]);
  const disk = await filesystemMb(host.access, facts.dataRoot);
  const used = { vcpus: 0, memory_mb: 0, root_gb: 0 };
  for (const vm of vms) {
    const flavor = parseFlavor(vm.labels[NOVA_LABEL_RESOURCES]);
    used.vcpus += flavor.vcpus;
    used.memory_mb += flavor.memory_mb;
    used.root_gb += flavor.root_gb;
  }
  const vcpus = facts.cpus ?? 1;
  const arch = novaArch(facts.architecture ?? 'unknown');
  return {
    vcpus,
    memory_mb: Math.floor((facts.memoryBytes ?? 0) / (1024 * 1024)),
    local_gb: Math.floor(disk.totalMb / 1024),
    vcpus_used: used.vcpus,
    memory_mb_used: used.memory_mb,
    local_gb_used: used.root_gb,
    disk_available_least: Math.floor(disk.freeMb / 1024),
    hypervisor_type: 'docker',
    hypervisor_version: versionNumber(facts.version),
    hypervisor_hostname: facts.hostname ?? host.access.name,
    cpu_info: JSON.stringify({ arch, model: modelName, topology: { sockets: 1, cores: vcpus, threads: 1 }, features: [] }),
    numa_topology: null,
    supported_instances: [[arch, 'docker', 'exe']],
  };
}

/** Placement inventory of the node: VCPU, MEMORY_MB and DISK_GB, nothing reserved here (nova.conf reserves). */
export function inventory(resource: AvailableResource): Inventory {
  const item = (total: number, ratio: number) => ({ total, reserved: 0, min_unit: 1, max_unit: Math.max(1, total), step_size: 1, allocation_ratio: ratio });
  return {
    VCPU: item(resource.vcpus, DEFAULT_RATIOS.VCPU),
    MEMORY_MB: item(resource.memory_mb, DEFAULT_RATIOS.MEMORY_MB),
    DISK_GB: item(resource.local_gb, DEFAULT_RATIOS.DISK_GB),
  };
}

/** The host's uptime in seconds and as `uptime` prints it, which is what Nova shows; the clock is the service's. */
export async function hostUptime(access: HostAccess): Promise<{ uptime: string; seconds: number }> {
  const [uptime, loadavg] = await Promise.all([access.readFile('/proc/uptime'), access.readFile('/proc/loadavg')]);
  const seconds = Math.floor(Number(uptime.split(/\s+/)[0]) || 0);
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const clock = new Date().toTimeString().slice(0, 8);
  const load = loadavg
    .split(/\s+/)
    .slice(0, 3)
    .map((value) => (Number(value) || 0).toFixed(2))
    .join(', ');
  const up = `${days ? `${days} day${days === 1 ? '' : 's'}, ` : ''}${String(hours).padStart(2, ' ')}:${String(minutes).padStart(2, '0')}`;
  return { uptime: ` ${clock} up ${up},  load average: ${load}`, seconds };
}

async function cpuModel(access: HostAccess): Promise<string> {
  const cpuInfo = await access.readFile('/proc/cpuinfo').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(cpuInfo)?.[1]?.trim() ?? 'unknown';
}

/** Size and free space of the filesystem holding `path` on the host, in MB (`df`, which any user may run). */
async function filesystemMb(access: HostAccess, path: string): Promise<{ totalMb: number; freeMb: number }> {
  const fields = (await access.run(['df', '-Pk', '--', path])).trim().split('\n').at(-1)?.split(/\s+/) ?? [];
  const [totalKb, , availableKb] = fields.slice(1, 4).map(Number);
  if (!Number.isFinite(totalKb) || !Number.isFinite(availableKb)) throw new HostSetupError(`df ${path} on ${access.name}: unexpected output`);
  return { totalMb: Math.floor(totalKb! / 1024), freeMb: Math.floor(availableKb! / 1024) };
}

/** The flavor an instance was spawned with, as its container records it; zeros when unreadable. */
export function parseFlavor(text: string | undefined): { vcpus: number; memory_mb: number; root_gb: number } {
  try {
    const value = JSON.parse(text ?? '{}') as Record<string, unknown>;
    const number = (key: string) => (Number.isInteger(value[key]) ? (value[key] as number) : 0);
    return { vcpus: number('vcpus'), memory_mb: number('memory_mb'), root_gb: number('root_gb') };
  } catch {
    return { vcpus: 0, memory_mb: 0, root_gb: 0 };
  }
}

/** Nova's own integer form of a version: 20.10.24 is 20010024. */
function versionNumber(version: string): number {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1) ?? []).map(Number);
  return major * 1_000_000 + minor * 1_000 + patch;
}

function novaArch(arch: string): string {
  return ({ amd64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[arch] ?? arch;
}
