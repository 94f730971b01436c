import type { KeeperRoute } from './keeper-protocol.ts';

/** Where a Docker engine listens: the local unix socket, or a remote host's socket reached over SSH. */
export type EngineEndpoint =
  | { kind: 'unix'; socketPath: string }
  | {
      kind: 'ssh';
      host: string;
      port: number;
      username: string;
      /** A private key, or `agent`: an SSH agent's socket. */
      privateKey?: Buffer | string;
      agent?: string;
      /** The engine socket on the remote host. */
      socketPath: string;
      /** The host key the server must present (SHA-256 fingerprint, base64). */
      hostKeySha256?: string;
      /** Without a fingerprint: an OpenSSH known_hosts file that must list the host's key. */
      knownHostsFile?: string;
      /** The front-end's connection keeper to go through when it runs, with the same version as this process. */
      keeper?: KeeperRoute;
    };
