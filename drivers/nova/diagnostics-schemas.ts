import { Type, type Static } from 'typebox';

/**
 * What the service says of one instance and of a host for an operator: the shapes nova's Diagnostics object
 * (nova/objects/diagnostics.py) and get_host_cpu_stats take, so the shim copies them field for field.
 */

const Count = (description: string) => Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description });

const CpuDetail = Type.Object({
  id: Type.Integer({ minimum: 0 }),
  time: Count('CPU time used since the instance started, in nanoseconds'),
  utilisation: Count('percent of one CPU over the last sampling interval'),
});

const NicDetail = Type.Object({
  name: Type.String({ description: 'the interface inside the instance (eth<n>)' }),
  mac_address: Type.Union([Type.String(), Type.Null()]),
  rx_octets: Type.Integer({ minimum: 0 }),
  rx_packets: Type.Integer({ minimum: 0 }),
  rx_errors: Type.Integer({ minimum: 0 }),
  rx_drop: Type.Integer({ minimum: 0 }),
  tx_octets: Type.Integer({ minimum: 0 }),
  tx_packets: Type.Integer({ minimum: 0 }),
  tx_errors: Type.Integer({ minimum: 0 }),
  tx_drop: Type.Integer({ minimum: 0 }),
});

const DiskDetail = Type.Object({
  name: Type.String({ description: "vda: the instance's root disk, its container's writable layer" }),
  read_bytes: Type.Integer({ minimum: 0 }),
  read_requests: Type.Integer({ minimum: 0 }),
  write_bytes: Type.Integer({ minimum: 0 }),
  write_requests: Type.Integer({ minimum: 0 }),
  errors_count: Type.Integer({ minimum: 0 }),
});

const LastExit = Type.Object({
  exit_code: Type.Integer(),
  oom_killed: Type.Boolean({ description: 'killed by the kernel for want of memory (the flavor memory_mb)' }),
  error: Type.String({ description: "the engine's reason when the instance could not even start" }),
  finished_at: Type.String(),
  last_lines: Type.Array(Type.String(), { description: 'the last lines it wrote' }),
});

export const InstanceDiagnostics = Type.Object({
  uuid: Type.String(),
  state: Type.String({ description: "Nova's power state name: RUNNING, SHUTDOWN, CRASHED..." }),
  power_state: Type.Integer(),
  hypervisor: Type.Literal('docker'),
  hypervisor_os: Type.Literal('linux'),
  uptime: Count('seconds since the instance last started; null when it is not running'),
  health: Type.Union([Type.Literal('starting'), Type.Literal('healthy'), Type.Literal('unhealthy'), Type.Null()], {
    description: "what the image's HEALTHCHECK last found; null without one or when not running",
  }),
  cpu_details: Type.Array(CpuDetail, { description: 'one entry: the cgroup counts the CPU time of all vCPUs together' }),
  memory_details: Type.Object({
    maximum: Count("the flavor's memory_mb"),
    used: Count('MiB in use now, page cache that could be dropped left out'),
  }),
  nic_details: Type.Array(NicDetail),
  disk_details: Type.Array(DiskDetail),
  last_exit: Type.Union([LastExit, Type.Null()], { description: 'how the last run ended; null while running or if it never ran' }),
});
export type InstanceDiagnostics = Static<typeof InstanceDiagnostics>;

export const HostCpuStats = Type.Object({
  kernel: Type.Integer({ minimum: 0, description: 'nanoseconds of kernel time since boot, all CPUs' }),
  idle: Type.Integer({ minimum: 0 }),
  user: Type.Integer({ minimum: 0 }),
  iowait: Type.Integer({ minimum: 0 }),
  frequency: Type.Integer({ minimum: 0, description: 'MHz' }),
});
export type HostCpuStats = Static<typeof HostCpuStats>;
