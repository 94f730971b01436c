import { readFileSync } from 'node:fs';
import { EngineClient } from '../engine/engine-client.ts';
import type { HostRecord } from './host-store.ts';
import { DEFAULT_ENGINE_SOCKET } from './provision/context.ts';

/** A recorded host's engine through one SSH connection, accepting only the host key recorded at provisioning. */
export function hostEngine(record: HostRecord, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): EngineClient {
  const { user, address, port, identityFile, hostKeySha256 } = record.ssh;
  if (!hostKeySha256) throw new Error(`host ${record.name} has never been reached: run \`dockvisor host provision ${record.name}\``);
  const privateKey = identityFile ? readFileSync(identityFile) : undefined;
  if (!privateKey && !env.SSH_AUTH_SOCK) throw new Error(`host ${record.name} has no identity file and no ssh-agent is running`);
  return new EngineClient(
    {
      kind: 'ssh',
      host: address,
      port,
      username: user,
      ...(privateKey ? { privateKey } : { agent: env.SSH_AUTH_SOCK }),
      socketPath: record.engineSocket ?? DEFAULT_ENGINE_SOCKET,
      hostKeySha256,
    },
    { timeoutMs },
  );
}
