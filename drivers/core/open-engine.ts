import { EngineClient } from '../engine/engine-client.ts';
import type { Engine } from '../engine/engine.ts';
import type { KeeperRoute } from '../engine/keeper-protocol.ts';

/** Where a host's engine listens: its socket on this machine, or on a host reached over SSH. */
export interface EngineLocation {
  socketPath: string;
  /** Reached over one SSH connection to the host, whose forwarded channels reach the socket. */
  ssh?: {
    host: string;
    port: number;
    username: string;
    /** A private key, or `agent`: an SSH agent's socket. */
    privateKey?: Buffer | string;
    agent?: string;
    /** The host key the server must present (SHA-256 fingerprint, base64). */
    hostKeySha256?: string;
    /** Without a fingerprint: an OpenSSH known_hosts file that must list the host's key. */
    knownHostsFile?: string;
    /** The front-end's connection keeper, used when it runs (same version), else the action connects itself. */
    keeper?: KeeperRoute;
  };
}

/** A host's engine as the core and the libraries above it use it: the Engine verbs, and what its SSH link offers. */
export interface HostEngine extends Engine {
  /** The host reached over SSH; undefined for this machine's engine. */
  readonly remoteHost: string | undefined;
  /** Opens `port` on the host's loopback to `target` on this side, until the returned close; a local engine needs none. */
  forwardRemotePort(port: number, target: { host: string; port: number }): Promise<() => Promise<void>>;
}

/** Opens the engine at `at`; nothing connects before the first call. `timeoutMs` bounds each call (the client's default without). */
export function openEngine(at: EngineLocation, timeoutMs?: number): HostEngine {
  const endpoint = at.ssh ? { kind: 'ssh' as const, ...at.ssh, socketPath: at.socketPath } : { kind: 'unix' as const, socketPath: at.socketPath };
  return new EngineClient(endpoint, timeoutMs === undefined ? {} : { timeoutMs });
}
