import { existsSync, readFileSync } from 'node:fs';
import { InvalidInputError } from './errors.ts';

/** The host's tunables, outside the code: set by the host's admin, validated once at start. */
export interface HostConfig {
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
  };
}

/** What a container label value and a `docker ps --filter` take without quoting. */
const FRONT_END_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function defaultHostConfig(): HostConfig {
  return {
    engineSocket: '/var/run/docker.sock',
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
    allow: { privileged: false, hostNetwork: false, capabilities: [], devices: [], hostMountRoots: [] },
  };
}

/** Reads the JSON config file at `path` (when it exists) over the defaults, refusing unknown or mistyped keys. */
export function loadHostConfig(path: string | undefined): HostConfig {
  const config = defaultHostConfig();
  if (!path || !existsSync(path)) return config;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidInputError(`host config ${path}: ${(error as Error).message}`);
  }
  return mergeConfig(config, raw, path);
}

function mergeConfig(config: HostConfig, raw: unknown, source: string): HostConfig {
  const fail = (key: string, expected: string): never => {
    throw new InvalidInputError(`host config ${source}: ${key} must be ${expected}`);
  };
  if (!isRecord(raw)) return fail('the file', 'a JSON object');
  for (const key of Object.keys(raw)) if (!(key in config)) fail(key, 'one of ' + Object.keys(config).join(', '));
  const section = (name: 'allow' | 'defaultLimits'): Record<string, unknown> => {
    const value = raw[name] ?? {};
    if (!isRecord(value)) return fail(name, 'an object');
    for (const key of Object.keys(value)) if (!(key in config[name])) fail(`${name}.${key}`, 'one of ' + Object.keys(config[name]).join(', '));
    return value;
  };
  const allowRaw = section('allow');
  const defaultsRaw = section('defaultLimits');

  const string = (key: string, value: unknown, fallback: string) =>
    value === undefined ? fallback : typeof value === 'string' && value ? value : fail(key, 'a non-empty string');
  const integer = (key: string, value: unknown, fallback: number, min = 0) =>
    value === undefined
      ? fallback
      : Number.isInteger(value) && (value as number) >= min
        ? (value as number)
        : fail(key, min ? `a whole number from ${min}` : 'a whole number');
  const bool = (key: string, value: unknown, fallback: boolean) =>
    value === undefined ? fallback : typeof value === 'boolean' ? value : fail(key, 'true or false');
  const positive = (key: string, value: unknown, fallback: number, max: number) =>
    value === undefined ? fallback : typeof value === 'number' && value > 0 && value <= max ? value : fail(key, `a number above 0 and at most ${max}`);
  const strings = (key: string, value: unknown, fallback: string[]) =>
    value === undefined ? fallback : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : fail(key, 'a list of strings');
  const matching = (key: string, value: unknown, fallback: string | undefined, pattern: RegExp, expected: string) =>
    value === undefined ? fallback : typeof value === 'string' && pattern.test(value) ? value : fail(key, expected);
  const oneOf = <T extends string>(key: string, value: unknown, fallback: T, choices: readonly T[]): T =>
    value === undefined ? fallback : choices.includes(value as T) ? (value as T) : fail(key, choices.map((c) => `"${c}"`).join(' or '));

  return {
    engineSocket: string('engineSocket', raw.engineSocket, config.engineSocket),
    engineTimeoutMs: integer('engineTimeoutMs', raw.engineTimeoutMs, config.engineTimeoutMs),
    rootCommandPrefix: strings('rootCommandPrefix', raw.rootCommandPrefix, config.rootCommandPrefix),
    imagePull: oneOf('imagePull', raw.imagePull, config.imagePull, ['missing', 'never'] as const),
    imagePullTimeoutMs: integer('imagePullTimeoutMs', raw.imagePullTimeoutMs, config.imagePullTimeoutMs),
    shutdownTimeoutSeconds: integer('shutdownTimeoutSeconds', raw.shutdownTimeoutSeconds, config.shutdownTimeoutSeconds),
    suspendMode: oneOf('suspendMode', raw.suspendMode, config.suspendMode, ['pause', 'stop'] as const),
    stateDir: string('stateDir', raw.stateDir, config.stateDir),
    pidsLimit: integer('pidsLimit', raw.pidsLimit, config.pidsLimit),
    defaultLimits: {
      cpu: positive('defaultLimits.cpu', defaultsRaw.cpu, config.defaultLimits.cpu, 4096),
      memoryMb: integer('defaultLimits.memoryMb', defaultsRaw.memoryMb, config.defaultLimits.memoryMb, 4),
    },
    frontEndId: matching('frontEndId', raw.frontEndId, config.frontEndId, FRONT_END_ID, 'at most 63 letters, digits, ".", "_" or "-", a letter or digit first'),
    allow: {
      privileged: bool('allow.privileged', allowRaw.privileged, config.allow.privileged),
      hostNetwork: bool('allow.hostNetwork', allowRaw.hostNetwork, config.allow.hostNetwork),
      capabilities: strings('allow.capabilities', allowRaw.capabilities, config.allow.capabilities),
      devices: strings('allow.devices', allowRaw.devices, config.allow.devices),
      hostMountRoots: strings('allow.hostMountRoots', allowRaw.hostMountRoots, config.allow.hostMountRoots),
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
