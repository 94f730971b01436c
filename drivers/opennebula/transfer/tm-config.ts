import { readFileSync } from 'node:fs';
import { Type, type TSchema } from 'typebox';
import { readSettingsFile } from '../../core/settings-file.ts';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';
import { DEFAULT_ENGINE_SOCKET } from '../../core/host-settings.ts';
import type { EngineLocation } from '../../core/open-engine.ts';
import { readCredentials } from '../../images/datastore-config.ts';
import type { RegistryCredentials } from '../../images/registry/registry-auth.ts';
import type { RegistryEndpoint } from '../../images/registry/registry-client.ts';
import { isLoopbackRegistry } from '../../images/registry/image-name.ts';

/** How the front-end reaches a host's engine: over SSH, forwarding the engine's socket. */
export interface HostAccess {
  address?: string;
  port?: number;
  user?: string;
  privateKeyPath?: string;
  engineSocket?: string;
  /** SHA-256 of the host's SSH key (base64, as `ssh-keygen -l` prints it); without it, knownHostsFile must list the host. */
  hostKeySha256?: string;
  /** OpenSSH known_hosts checked when no fingerprint is pinned (default: the front-end user's ~/.ssh/known_hosts). */
  knownHostsFile?: string;
}

/** The front-end's settings for the transfer actions (remotes/etc/tm/dockvisor/dockvisor.conf, JSON). */
export interface TmConfig {
  defaults: Required<Omit<HostAccess, 'address' | 'hostKeySha256'>>;
  hosts: Record<string, HostAccess>;
  /** Files with the credentials hosts use for a registry ("host:port" -> path), as REGISTRY_CREDENTIALS. */
  registryCredentials: Record<string, string>;
  /** Registries (other than loopback ones) the front-end speaks plain HTTP to, as REGISTRY_TLS="NO". */
  plainHttpRegistries: string[];
  engineTimeoutMs: number;
  pullTimeoutMs: number;
  /** The name oned gives the front-end in transfer paths (its HOSTNAME); by default this machine's host name. */
  frontEndHostname?: string;
  /** The unix socket of the connection keeper (`tm-keeper.mjs`), used when one runs there; "" never uses one. */
  connectionKeeper: string;
}

const text = Type.String({ minLength: 1, expected: 'a non-empty string' });
const whole = (minimum: number, maximum?: number) =>
  Type.Integer({ minimum, maximum, expected: maximum ? `a whole number from ${minimum} to ${maximum}` : `a whole number from ${minimum}` });
const login = {
  port: Type.Optional(whole(1, 65535)),
  user: Type.Optional(text),
  privateKeyPath: Type.Optional(text),
  engineSocket: Type.Optional(text),
  knownHostsFile: Type.Optional(text),
};
const object = <T extends Record<string, TSchema>>(properties: T, expected = 'an object') => Type.Object(properties, { additionalProperties: false, expected });

/** What remotes/etc/tm/dockvisor/dockvisor.conf may say, every key optional (the defaults fill the rest). */
export const TM_CONFIG_FILE = object(
  {
    defaults: Type.Optional(object(login)),
    hosts: Type.Optional(
      Type.Record(Type.String(), object({ address: Type.Optional(text), ...login, hostKeySha256: Type.Optional(text) }), {
        expected: 'an object of host names',
      }),
    ),
    registryCredentials: Type.Optional(Type.Record(Type.String(), text, { expected: 'an object of "host:port": file path' })),
    plainHttpRegistries: Type.Optional(Type.Array(Type.String(), { expected: 'a list of strings' })),
    engineTimeoutMs: Type.Optional(whole(1)),
    pullTimeoutMs: Type.Optional(whole(1)),
    frontEndHostname: Type.Optional(Type.String({ expected: 'a string' })),
    connectionKeeper: Type.Optional(Type.String({ expected: 'a unix socket path, or "" for none' })),
  },
  'a JSON object',
);

/** The transfer config's own defaults, before the file. */
export function defaultTmConfig(): TmConfig {
  return {
    defaults: {
      port: 22,
      user: 'oneadmin',
      privateKeyPath: join(homedir(), '.ssh/id_rsa'),
      engineSocket: DEFAULT_ENGINE_SOCKET,
      knownHostsFile: join(homedir(), '.ssh/known_hosts'),
    },
    hosts: {},
    registryCredentials: {},
    plainHttpRegistries: [],
    engineTimeoutMs: 30_000,
    pullTimeoutMs: 600_000,
    connectionKeeper: join(homedir(), '.dockvisor/tm-connection-keeper.sock'),
  };
}

export function loadTmConfig(path: string): TmConfig {
  const config = readSettingsFile(path, 'transfer config', TM_CONFIG_FILE, defaultTmConfig());
  if (config.frontEndHostname !== undefined) check.hostname(config.frontEndHostname, `transfer config ${path}: frontEndHostname`);
  return config;
}

/** What a transfer action tells the connection keeper: the config it read (by path) and the remotes' version. */
export interface KeeperUse {
  configPath: string;
  version: string;
}

/** How to reach `host`'s engine; with `keeper`, through the connection keeper when it runs. */
export function hostEndpoint(config: TmConfig, host: string, keeper?: KeeperUse): EngineLocation {
  const access = { ...config.defaults, ...config.hosts[host] };
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(access.privateKeyPath);
  } catch {
    throw new InvalidInputError(`host ${host}: the SSH key ${access.privateKeyPath} cannot be read`);
  }
  return {
    socketPath: access.engineSocket,
    ssh: {
      host: access.address ?? host,
      port: access.port,
      username: access.user,
      privateKey,
      hostKeySha256: config.hosts[host]?.hostKeySha256,
      knownHostsFile: access.knownHostsFile,
      ...(keeper && config.connectionKeeper
        ? { keeper: { socketPath: config.connectionKeeper, version: keeper.version, config: keeper.configPath, host } }
        : {}),
    },
  };
}

export function registryEndpointFor(config: TmConfig, registry: string): RegistryEndpoint {
  const tls = !isLoopbackRegistry(registry) && !config.plainHttpRegistries.includes(registry);
  return { address: registry, tls, credentials: registryCredentialsFor(config, registry) };
}

export function registryCredentialsFor(config: TmConfig, registry: string): RegistryCredentials | undefined {
  const path = config.registryCredentials[registry];
  return path ? readCredentials(path, `registry ${registry}: `) : undefined;
}
