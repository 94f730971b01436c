import { Type, type TSchema } from 'typebox';
import { readSettingsFile } from './settings-file.ts';

/** Where an engine listens unless a host's settings, the transfer config or a host record say otherwise. */
export const DEFAULT_ENGINE_SOCKET = '/var/run/docker.sock';

/**
 * The host's tunables, outside the code: set by the host's admin in the host config file (JSON), validated once at
 * start. Not Docker's HostConfig, the part of a container's configuration the engine applies on the host.
 */
export interface HostSettings {
  engineSocket: string;
  engineTimeoutMs: number;
  /** Prepended to every root operation (`ip`, `nsenter`): ["sudo", "-n"] on real hosts, [] as root. */
  rootCommandPrefix: string[];
  /** When a VM's image is not on the host: pull it ("missing") or refuse ("never"). */
  imagePull: 'missing' | 'never';
  imagePullTimeoutMs: number;
  /** Seconds a graceful shutdown waits before the container is killed. */
  shutdownTimeoutSeconds: number;
  /** What `save` (suspend) does: freeze the processes in memory ("pause") or stop the container ("stop"). */
  suspendMode: 'pause' | 'stop';
  /** Where the monitoring probes keep their little state between runs. */
  stateDir: string;
  /** Maximum number of processes in a container, 0 for no limit. */
  pidsLimit: number;
  /** The limits of a VM whose template gives no CPU, VCPU or MEMORY (OpenNebula requires them; this is the fallback). */
  defaultLimits: {
    cpu: number;
    memoryMb: number;
  };
  /**
   * The OpenNebula front-end whose remotes these are (the installer writes it): recorded on the containers
   * deploy makes, so that the probes on a host shared with other front-ends report this one's VMs only.
   */
  frontEndId: string | undefined;
  allow: {
    privileged: boolean;
    hostNetwork: boolean;
    capabilities: string[];
    devices: string[];
    /** Host directories (and everything below them) that VM templates may mount. */
    hostMountRoots: string[];
    /** The engine's OCI runtimes (by its names for them, e.g. runsc) that VMs may ask for instead of its default. */
    runtimes: string[];
  };
}

/** An engine's name for an OCI runtime, as daemon.json's `runtimes` keys are written. */
export const RUNTIME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** What a container label value and a `docker ps --filter` take without quoting. */
const FRONT_END_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function defaultHostSettings(): HostSettings {
  return {
    engineSocket: DEFAULT_ENGINE_SOCKET,
    engineTimeoutMs: 30_000,
    rootCommandPrefix: process.getuid?.() === 0 ? [] : ['sudo', '-n'],
    imagePull: 'missing',
    imagePullTimeoutMs: 600_000,
    shutdownTimeoutSeconds: 30,
    suspendMode: 'pause',
    stateDir: '/var/tmp/dockvisor',
    pidsLimit: 4096,
    defaultLimits: { cpu: 1, memoryMb: 512 },
    frontEndId: undefined,
    allow: { privileged: false, hostNetwork: false, capabilities: [], devices: [], hostMountRoots: [], runtimes: [] },
  };
}

const text = Type.String({ minLength: 1, expected: 'a non-empty string' });
const whole = (minimum = 0) => Type.Integer({ minimum, expected: minimum ? `a whole number from ${minimum}` : 'a whole number' });
const flag = Type.Boolean({ expected: 'true or false' });
const texts = Type.Array(Type.String(), { expected: 'a list of strings' });
const choice = (...choices: string[]) =>
  Type.Union(
    choices.map((each) => Type.Literal(each)),
    { expected: choices.map((each) => `"${each}"`).join(' or ') },
  );
const optional = <T extends TSchema>(schema: T) => Type.Optional(schema);
const section = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: false, expected: 'an object' });

/** What a host config file may say, every key optional (the defaults fill the rest). */
const HOST_SETTINGS_FILE = Type.Object(
  {
    engineSocket: optional(text),
    engineTimeoutMs: optional(whole()),
    rootCommandPrefix: optional(texts),
    imagePull: optional(choice('missing', 'never')),
    imagePullTimeoutMs: optional(whole()),
    shutdownTimeoutSeconds: optional(whole()),
    suspendMode: optional(choice('pause', 'stop')),
    stateDir: optional(text),
    pidsLimit: optional(whole()),
    defaultLimits: optional(
      section({
        cpu: optional(Type.Number({ exclusiveMinimum: 0, maximum: 4096, expected: 'a number above 0 and at most 4096' })),
        memoryMb: optional(whole(4)),
      }),
    ),
    frontEndId: optional(Type.String({ pattern: FRONT_END_ID.source, expected: 'at most 63 letters, digits, ".", "_" or "-", a letter or digit first' })),
    allow: optional(
      section({
        privileged: optional(flag),
        hostNetwork: optional(flag),
        capabilities: optional(texts),
        devices: optional(texts),
        hostMountRoots: optional(texts),
        runtimes: optional(Type.Array(Type.String({ pattern: RUNTIME_NAME.source }), { expected: 'a list of runtime names (letters, digits, ".", "_", "-")' })),
      }),
    ),
  },
  { additionalProperties: false, expected: 'a JSON object' },
);

/** Reads the JSON config file at `path` (when it exists) over the defaults, refusing unknown or mistyped keys. */
export function loadHostSettings(path: string | undefined): HostSettings {
  return readSettingsFile(path, 'host config', HOST_SETTINGS_FILE, defaultHostSettings());
}

/** The keys the host config file at `path` sets, checked as loadHostSettings checks them: for a tool that rewrites it. */
export function hostSettingsAsWritten(path: string): Partial<HostSettings> {
  return readSettingsFile<Partial<HostSettings>>(path, 'host config', HOST_SETTINGS_FILE, {});
}
