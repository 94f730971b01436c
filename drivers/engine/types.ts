/** The parts of the Docker Engine API (1.41+) that dockvisor reads and writes. */

export interface ContainerCreateBody {
  Image: string;
  Hostname?: string;
  Domainname?: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  NetworkDisabled?: boolean;
  StopSignal?: string;
  StopTimeout?: number;
  Tty?: boolean;
  OpenStdin?: boolean;
  HostConfig: HostConfig;
}

export interface HostConfig {
  NetworkMode?: string;
  Privileged?: boolean;
  CapAdd?: string[];
  /** The OCI runtime, by the engine's name for it (daemon.json runtimes); the engine's default when absent. */
  Runtime?: string;
  CapDrop?: string[];
  Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  Binds?: string[];
  Mounts?: { Type: 'volume'; Source: string; Target: string; ReadOnly?: boolean }[];
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[];
  Init?: boolean;
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  PidsLimit?: number;
  ShmSize?: number;
  Dns?: string[];
  DnsSearch?: string[];
  ExtraHosts?: string[];
  Sysctls?: Record<string, string>;
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  LogConfig?: { Type: string; Config?: Record<string, string> };
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Pid: number;
  ExitCode: number;
  OOMKilled: boolean;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Present when the image (or the container) has a HEALTHCHECK. */
  Health?: { Status: 'starting' | 'healthy' | 'unhealthy' | 'none' };
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: ContainerState;
  Config: ContainerCreateBody & { Labels: Record<string, string> | null };
  HostConfig: HostConfig;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Labels: Record<string, string>;
  /** Only when listed with sizes. */
  SizeRw?: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Size: number;
  Config: {
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    /** The paths the image declares as VOLUME, as keys. */
    Volumes?: Record<string, unknown> | null;
  } | null;
}

export interface VolumeSummary {
  Name: string;
  Labels: Record<string, string>;
}

export interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  Labels: Record<string, string> | null;
}

export interface ContainerUpdateBody {
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  Memory?: number;
  MemorySwap?: number;
}

export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  Os: string;
  Arch: string;
}

export interface EngineInfo {
  ServerVersion: string;
  Driver: string;
  DockerRootDir: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  LiveRestoreEnabled?: boolean;
  Labels?: string[];
  Containers?: number;
  ContainersRunning?: number;
  /** The host's name, CPU count, memory in bytes and architecture (x86_64, aarch64) as the engine sees them. */
  Name?: string;
  NCPU?: number;
  MemTotal?: number;
  Architecture?: string;
  /** The OCI runtimes it knows, by name, and the one containers get by default. */
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
}

/** A path in a container as the engine's archive API stats it (X-Docker-Container-Path-Stat). */
export interface ContainerPathStat {
  name: string;
  /** Go's FileMode: permission bits, and 1 << 31 for a directory, 1 << 27 for a symbolic link. */
  mode: number;
  linkTarget: string;
}
