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
  allow: {
    privileged: boolean;
    hostNetwork: boolean;
    capabilities: string[];
    devices: string[];
    /** Host directories (and everything below them) that VM templates may mount. */
    hostMountRoots: string[];
  };
}

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
  const allowRaw = raw.allow ?? {};
  if (!isRecord(allowRaw)) return fail('allow', 'an object');
  for (const key of Object.keys(raw)) if (!(key in config)) fail(key, 'one of ' + Object.keys(config).join(', '));
  for (const key of Object.keys(allowRaw)) if (!(key in config.allow)) fail(`allow.${key}`, 'one of ' + Object.keys(config.allow).join(', '));

  const string = (key: string, value: unknown, fallback: string) =>
    value === undefined ? fallback : typeof value === 'string' && value ? value : fail(key, 'a non-empty string');
  const integer = (key: string, value: unknown, fallback: number) =>
    value === undefined ? fallback : Number.isInteger(value) && (value as number) >= 0 ? (value as number) : fail(key, 'a whole number');
  const bool = (key: string, value: unknown, fallback: boolean) =>
    value === undefined ? fallback : typeof value === 'boolean' ? value : fail(key, 'true or false');
  const strings = (key: string, value: unknown, fallback: string[]) =>
    value === undefined ? fallback : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : fail(key, 'a list of strings');
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
