import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { ContainerCreateBody, ContainerUpdateBody } from '../engine/types.ts';
import { InvalidInputError } from './errors.ts';
import type { HostSettings } from './host-settings.ts';
import { hostMountStaging } from './host-mounts.ts';
import { diskHotplugBind } from './disk-hotplug.ts';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_SPEC_HASH, LABEL_VM_ID, OWNER_VALUE } from './labels.ts';
import type { VmSpec } from './vm-spec.ts';

const CPU_PERIOD = 100_000;
/** The weights the engine (and cgroup v1's cpu.shares) accepts: a larger one fails the start. */
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262_144;

/** Translates a VM into the engine's container configuration, enforcing the host's policy. */
export function containerConfig(spec: VmSpec, host: HostSettings): ContainerCreateBody {
  enforcePolicy(spec, host);
  const { privileges } = spec;
  const firstIpv4 = spec.nics.find((nic) => nic.ipv4.length)?.ipv4[0]?.address;
  const dns = unique(spec.nics.flatMap((nic) => nic.dns));
  const searchDomains = unique(spec.nics.flatMap((nic) => nic.searchDomains));
  const wantsIpv6 = spec.nics.some((nic) => nic.ipv6.length);
  return {
    Image: spec.image,
    Hostname: spec.hostname.split('.')[0],
    Domainname: spec.hostname.includes('.') ? spec.hostname.slice(spec.hostname.indexOf('.') + 1) : undefined,
    Cmd: spec.command,
    Entrypoint: spec.entrypoint,
    WorkingDir: spec.workingDir,
    User: spec.user,
    Env: Object.entries(spec.environment).map(([key, value]) => `${key}=${value}`),
    Labels: {
      ...spec.frontEndLabels,
      [LABEL_OWNER]: OWNER_VALUE,
      [LABEL_FRONT_END]: spec.frontEnd,
      [LABEL_VM_ID]: spec.vmId,
      [LABEL_SPEC_HASH]: specHash(spec),
    },
    StopTimeout: host.shutdownTimeoutSeconds,
    HostConfig: {
      NetworkMode: privileges.hostNetwork ? 'host' : 'none',
      Privileged: privileges.privileged || undefined,
      CapAdd: privileges.capabilities.length ? privileges.capabilities : undefined,
      Runtime: privileges.runtime,
      Devices: privileges.devices.length
        ? privileges.devices.map((path) => ({ PathOnHost: path, PathInContainer: path, CgroupPermissions: 'rwm' }))
        : undefined,
      Binds: binds(spec, host),
      Mounts: spec.volumes?.length
        ? spec.volumes.map((v) => ({ Type: 'volume' as const, Source: v.volume, Target: v.containerPath, ReadOnly: v.readOnly || undefined }))
        : undefined,
      Init: true,
      ...resourceLimits(spec, host.defaultLimits),
      PidsLimit: host.pidsLimit || undefined,
      Dns: dns.length ? dns : undefined,
      DnsSearch: searchDomains.length ? searchDomains : undefined,
      ExtraHosts: firstIpv4 && !privileges.hostNetwork ? [`${spec.hostname}:${firstIpv4}`] : undefined,
      Sysctls: wantsIpv6 ? { 'net.ipv6.conf.all.disable_ipv6': '0' } : undefined,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  };
}

/**
 * What CPU, VCPU and MEMORY make of the container's limits (the host's defaults where the VM names none); the
 * engine can change them on an existing container.
 */
export function resourceLimits(spec: Pick<VmSpec, 'cpu' | 'vcpu' | 'memoryMb'>, defaults?: { cpu: number; memoryMb: number }): ContainerUpdateBody {
  return { ...cpuLimits(spec, defaults), ...memoryLimits(spec.memoryMb ?? defaults?.memoryMb) };
}

/**
 * CPU is the physical share OpenNebula accounts for: a hard cap in cores and a weight (the engine's largest
 * above 256 CPUs); VCPU caps when CPU is absent, the host's default when both are.
 */
export function cpuLimits(spec: Pick<VmSpec, 'cpu' | 'vcpu'>, defaults?: { cpu: number }): { CpuShares?: number; CpuPeriod?: number; CpuQuota?: number } {
  const cores = spec.cpu ?? spec.vcpu ?? defaults?.cpu;
  if (cores === undefined) return {};
  return {
    CpuShares: Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, Math.round((spec.cpu ?? cores) * 1024))),
    CpuPeriod: CPU_PERIOD,
    CpuQuota: Math.max(1000, Math.round(cores * CPU_PERIOD)),
  };
}

/** MEMORY is RAM without swap beyond it, as a VM of that size would have. */
export function memoryLimits(memoryMb: number | undefined): { Memory?: number; MemorySwap?: number } {
  if (memoryMb === undefined) return {};
  const bytes = memoryMb * 1024 * 1024;
  return { Memory: bytes, MemorySwap: bytes };
}

export function specHash(spec: VmSpec): string {
  const { nics: _nics, ...withoutNetworking } = spec;
  return createHash('sha256').update(JSON.stringify(withoutNetworking)).digest('hex').slice(0, 16);
}

function enforcePolicy(spec: VmSpec, host: HostSettings): void {
  const { privileges } = spec;
  const refuse = (what: string): never => {
    throw new InvalidInputError(`VM ${spec.vmId}: ${what} is not allowed by this host's configuration`);
  };
  if (privileges.privileged && !host.allow.privileged) refuse('a privileged container');
  if (privileges.hostNetwork && !host.allow.hostNetwork) refuse('the host network');
  for (const capability of privileges.capabilities) {
    if (!host.allow.capabilities.includes(capability)) refuse(`capability ${capability}`);
  }
  for (const device of privileges.devices) if (!host.allow.devices.includes(device)) refuse(`device ${device}`);
  for (const mount of privileges.hostMounts) {
    if (!posix.isAbsolute(mount.hostPath) || posix.normalize(mount.hostPath) !== mount.hostPath) refuse(`host path ${mount.hostPath}`);
    const allowed = host.allow.hostMountRoots.some((root) => mount.hostPath === root || mount.hostPath.startsWith(root.replace(/\/$/, '') + '/'));
    if (!allowed) refuse(`mounting host path ${mount.hostPath}`);
  }
  if (privileges.hostNetwork && spec.nics.length) refuse('NICs together with the host network');
  if (privileges.runtime !== undefined && !host.allow.runtimes.includes(privileges.runtime)) refuse(`runtime ${privileges.runtime}`);
}

/** The staging path holds the host path as checked when the VM starts (see HostMounts); then the hot-plug directory. */
function binds(spec: VmSpec, host: HostSettings): string[] | undefined {
  const mounts = spec.privileges.hostMounts.map(
    (m, index) => `${hostMountStaging(host, spec.containerName, index)}:${m.containerPath}:${m.readOnly ? 'ro' : 'rw'}`,
  );
  if (spec.diskHotplug) mounts.push(diskHotplugBind(host, spec.containerName));
  return mounts.length ? mounts : undefined;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
