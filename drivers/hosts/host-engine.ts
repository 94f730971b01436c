import { HostSetupError } from '../core/errors.ts';
import { readFileSync } from 'node:fs';
import { DEFAULT_ENGINE_SOCKET } from '../core/host-settings.ts';
import { openEngine, type HostEngine } from '../core/open-engine.ts';
import { fingerprint } from '../ssh/known-hosts.ts';
import type { HostRecord } from './host-store.ts';
import type { SshTarget } from './ssh-target.ts';

/** An engine reached through one SSH connection, accepting only the host key given. */
export function engineOverSsh(
  target: SshTarget,
  login: { privateKey?: Buffer; agent?: string },
  socketPath: string,
  hostKeySha256: string,
  timeoutMs: number,
): HostEngine {
  return openEngine(
    {
      socketPath,
      ssh: {
        host: target.address,
        port: target.port,
        username: target.user,
        ...(login.privateKey ? { privateKey: login.privateKey } : { agent: login.agent }),
        hostKeySha256,
      },
    },
    timeoutMs,
  );
}

/** A recorded host's engine, accepting only the host key recorded at provisioning. */
export function hostEngine(record: HostRecord, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): HostEngine {
  const { identityFile, hostKey } = record.ssh;
  if (!hostKey) throw new HostSetupError(`host ${record.name} has never been reached: run \`dockvisor host provision ${record.name}\``);
  const privateKey = identityFile ? readFileSync(identityFile) : undefined;
  if (!privateKey && !env.SSH_AUTH_SOCK) throw new HostSetupError(`host ${record.name} has no identity file and no ssh-agent is running`);
  return engineOverSsh(record.ssh, { privateKey, agent: env.SSH_AUTH_SOCK }, record.engineSocket ?? DEFAULT_ENGINE_SOCKET, hostKeySha256Of(hostKey), timeoutMs);
}

/** The fingerprint of a pinned host key (`type base64`) as the engine's SSH transport checks it: SHA-256, base64. */
export function hostKeySha256Of(hostKey: string): string {
  return fingerprint(Buffer.from(hostKey.split(' ')[1] ?? '', 'base64')).slice('SHA256:'.length);
}
