import { Type, type Static } from 'typebox';

/**
 * The compute service's request and answer shapes. They drive validation, the handlers' types and the
 * OpenAPI document at once; the adapter checks what a schema cannot say (addresses, names, paths).
 */

export const InstanceUuid = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  description: "Nova's instance uuid, lower case; the container is nova-<uuid>",
});

/** A host the service manages: `local` (this machine) or a host recorded by `dockvisor host create`. */
const hostName = (description: string) => Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$', description });

/** Which host a question is about: for /v1/host/*, the service's first host when absent; for the instance list, every host. */
export const HostQuery = Type.Object(
  { host: Type.Optional(hostName('a host the service manages (`local` is this machine)')) },
  { additionalProperties: false },
);

export const InstanceParams = Type.Object({ uuid: InstanceUuid }, { additionalProperties: false });
export const InterfaceParams = Type.Object(
  { uuid: InstanceUuid, vifId: Type.String({ pattern: '^[0-9A-Za-z-]{1,64}$', description: 'the VIF (Neutron port) id' }) },
  { additionalProperties: false },
);

const FixedIp = Type.Object(
  {
    address: Type.String({ maxLength: 45, description: 'IPv4 or IPv6 address' }),
    prefix: Type.Integer({ minimum: 0, maximum: 128 }),
  },
  { additionalProperties: false },
);

const Route = Type.Object(
  {
    destination: Type.String({ maxLength: 49, description: 'network, e.g. 10.1.0.0/16' }),
    gateway: Type.String({ maxLength: 45, description: 'next hop, of the same family' }),
  },
  { additionalProperties: false },
);

export const Vif = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9A-Za-z-]{1,64}$', description: 'Neutron port id' }),
    type: Type.Optional(Type.String({ maxLength: 64, description: "Nova's VIF type: bridge (the default) or ovs; others are refused" })),
    ovs_interfaceid: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z-]{1,64}$', description: "the OVS port's iface-id (ovs VIFs), the VIF id by default" })),
    details: Type.Optional(
      Type.Object(
        { ovs_hybrid_plug: Type.Optional(Type.Boolean({ description: 'ovs VIFs: a Linux bridge qbr<id> between the instance and the switch' })) },
        { additionalProperties: false },
      ),
    ),
    address: Type.String({ maxLength: 17, description: 'MAC address' }),
    bridge: Type.String({ minLength: 1, maxLength: 15, description: 'host bridge the host end is plugged into' }),
    bridge_type: Type.Optional(Type.Union([Type.Literal('linux'), Type.Literal('openvswitch')])),
    devname: Type.Optional(Type.String({ minLength: 1, maxLength: 15, description: 'host end of the veth pair; tap<id[:11]> by default' })),
    mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
    ips: Type.Array(FixedIp, { maxItems: 16 }),
    gateway: Type.Optional(Type.String({ maxLength: 45 })),
    gateway6: Type.Optional(Type.String({ maxLength: 45 })),
    routes: Type.Optional(Type.Array(Route, { maxItems: 64, description: "the subnets' host routes" })),
    dns: Type.Array(Type.String({ maxLength: 45 }), { maxItems: 8 }),
    search_domains: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 6 })),
  },
  { additionalProperties: false },
);

export const NetworkInfo = Type.Array(Vif, { maxItems: 16, description: "the instance's VIFs in order; VIF n is eth<n> inside" });

const Flavor = Type.Object(
  {
    vcpus: Type.Integer({ minimum: 1, maximum: 1024 }),
    memory_mb: Type.Integer({ minimum: 16, maximum: 16 * 1024 * 1024 }),
    root_gb: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'accounted, not enforced' }),
  },
  { additionalProperties: false },
);

/** What an instance is made of, at spawn and again at rebuild. */
const instanceFields = {
  name: Type.Optional(Type.String({ maxLength: 255, description: 'display name' })),
  instance_name: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$', description: "Nova's instance.name (instance-0000002a), as list_instances answers it" }),
  ),
  hostname: Type.Optional(Type.String({ maxLength: 253 })),
  image: Type.String({ minLength: 1, maxLength: 512, description: 'Docker image reference, e.g. registry:5000/repo@sha256:...' }),
  command: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64 })),
  flavor: Flavor,
  metadata: Type.Optional(
    Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 255 }), {
      maxProperties: 128,
      description: 'instance metadata, given to the processes as environment variables',
    }),
  ),
  injected_files: Type.Optional(
    Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 2, maxLength: 255 }),
          contents: Type.String({ maxLength: 21848, description: 'base64, at most 16 KiB decoded' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 16 },
    ),
  ),
  network_info: Type.Optional(NetworkInfo),
  runtime: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      description: "an OCI runtime of the host's engine (e.g. runsc), allowed by the host config's allow.runtimes",
    }),
  ),
};

export const SpawnRequest = Type.Object(
  {
    uuid: InstanceUuid,
    host: Type.Optional(hostName("the host to create it on (`local` is this machine); the service's first host by default")),
    ...instanceFields,
    power_on: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

export const RebuildRequest = Type.Object(
  {
    ...instanceFields,
    network_info: NetworkInfo,
    preserve_ephemeral: Type.Optional(
      Type.Boolean({ default: false, description: "keep the data of the image's VOLUME paths the new image declares too; without it they start empty" }),
    ),
  },
  { additionalProperties: false },
);

export const RebootRequest = Type.Object(
  { type: Type.Union([Type.Literal('SOFT'), Type.Literal('HARD')]), network_info: Type.Optional(NetworkInfo) },
  { additionalProperties: false },
);

export const PowerOffRequest = Type.Object(
  { timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'seconds of graceful shutdown before the kill; 0 kills at once' })) },
  { additionalProperties: false },
);

export const NetworkInfoRequest = Type.Object(
  { network_info: Type.Optional(NetworkInfo) },
  { additionalProperties: false, description: 'the current VIFs; without them, the VIFs the instance was spawned with' },
);

export const SnapshotRequest = Type.Object(
  { image_id: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$', description: 'Glance image id, used as the tag' }) },
  { additionalProperties: false },
);

export const MigrateRequest = Type.Object(
  {
    dest: Type.String({
      pattern: '^[A-Za-z0-9:][A-Za-z0-9.:-]{0,252}$',
      description: "Nova's migration.dest_host (the destination compute's my_ip): a host's name, its SSH address, or an address of this machine for `local`",
    }),
    flavor: Flavor,
    timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'seconds of graceful shutdown before the kill; 0 kills at once' })),
  },
  { additionalProperties: false },
);

export const DiskInfo = Type.Object(
  {
    source_host: hostName('the host the instance was stopped on'),
    image: Type.String({
      minLength: 1,
      maxLength: 512,
      description: "the saved filesystem: a local tag on the same host, else pinned by digest in the service's registry",
    }),
    same_host: Type.Boolean(),
  },
  { additionalProperties: false, description: 'what migrate_disk_and_power_off answered; nova-compute hands it to finish_migration' },
);

export const MigrateAnswer = Type.Object({ disk_info: DiskInfo });

export const FinishMigrationRequest = Type.Object(
  {
    host: Type.Optional(hostName("the destination host (`local` is this machine); the service's first host by default")),
    disk_info: DiskInfo,
    name: Type.Optional(Type.String({ maxLength: 255, description: 'display name' })),
    instance_name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$', description: "Nova's instance.name" })),
    hostname: Type.Optional(Type.String({ maxLength: 253 })),
    flavor: Flavor,
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 255 }), { maxProperties: 128 })),
    network_info: Type.Optional(NetworkInfo),
    power_on: Type.Optional(Type.Boolean({ default: true })),
    runtime: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' })),
  },
  { additionalProperties: false },
);

export const RevertMigrationRequest = Type.Object(
  { network_info: Type.Optional(NetworkInfo), power_on: Type.Optional(Type.Boolean({ default: true })) },
  { additionalProperties: false },
);

export const AttachInterfaceRequest = Type.Object({ vif: Vif }, { additionalProperties: false });

export const InstanceInfo = Type.Object({
  uuid: InstanceUuid,
  container: Type.String(),
  host: Type.String({ description: 'the host the instance is on' }),
  power_state: Type.Integer({ description: "Nova's power state: 0 NOSTATE, 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED" }),
  state: Type.String({ description: 'the power state by name' }),
});

export const InstanceList = Type.Object({
  uuids: Type.Array(InstanceUuid),
  names: Type.Record(Type.String(), Type.String(), { description: "uuid -> Nova's instance name, for the instances spawned with one" }),
});
export const RebuildAnswer = Type.Object({
  ...InstanceInfo.properties,
  image: Type.String({ description: 'the image the instance now runs, pinned by digest: repository@sha256:... or the sha256 image id' }),
});
export const SnapshotAnswer = Type.Object({ image: Type.String({ description: 'repository@sha256:digest in the registry' }) });
export const ImageLoadQuery = Type.Object(
  {
    host: Type.Optional(hostName('the host to load the image on (`local` is this machine)')),
    image_id: Type.Optional(Type.String({ pattern: '^sha256:[a-f0-9]{64}$', description: 'the image id the archive must hold' })),
  },
  { additionalProperties: false },
);
export const ImageLoadAnswer = Type.Object({ image: Type.String({ description: 'the loaded image id, sha256:<hex>, to spawn from' }) });
export const ConsoleAnswer = Type.Object({ output: Type.String() });

export const AvailableResource = Type.Object({
  vcpus: Type.Integer(),
  memory_mb: Type.Integer(),
  local_gb: Type.Integer(),
  vcpus_used: Type.Integer(),
  memory_mb_used: Type.Integer(),
  local_gb_used: Type.Integer(),
  disk_available_least: Type.Integer(),
  hypervisor_type: Type.Literal('docker'),
  hypervisor_version: Type.Integer(),
  hypervisor_hostname: Type.String(),
  cpu_info: Type.String(),
  numa_topology: Type.Null(),
  supported_instances: Type.Array(Type.Tuple([Type.String(), Type.String(), Type.String()])),
});

const InventoryItem = Type.Object({
  total: Type.Integer(),
  reserved: Type.Integer(),
  min_unit: Type.Integer(),
  max_unit: Type.Integer(),
  step_size: Type.Integer(),
  allocation_ratio: Type.Number(),
});
export const Inventory = Type.Object({ VCPU: InventoryItem, MEMORY_MB: InventoryItem, DISK_GB: InventoryItem });
export const Uptime = Type.Object({ uptime: Type.String({ description: 'as the uptime command prints it' }), seconds: Type.Integer() });

export const ErrorAnswer = Type.Object({
  error: Type.Union([
    Type.Literal('invalid_input'),
    Type.Literal('unauthorized'),
    Type.Literal('not_found'),
    Type.Literal('conflict'),
    Type.Literal('too_large'),
    Type.Literal('not_supported'),
    Type.Literal('unavailable'),
    Type.Literal('internal'),
  ]),
  message: Type.String(),
});

export type SpawnRequest = Static<typeof SpawnRequest>;
export type MigrateRequest = Static<typeof MigrateRequest>;
export type DiskInfo = Static<typeof DiskInfo>;
export type FinishMigrationRequest = Static<typeof FinishMigrationRequest>;
export type RevertMigrationRequest = Static<typeof RevertMigrationRequest>;
export type RebuildRequest = Static<typeof RebuildRequest>;
export type RebuildAnswer = Static<typeof RebuildAnswer>;
export type VifRequest = Static<typeof Vif>;
export type InstanceInfo = Static<typeof InstanceInfo>;
export type AvailableResource = Static<typeof AvailableResource>;
export type Inventory = Static<typeof Inventory>;
