import { HostSetupError } from '../core/errors.ts';
import type { HostRecord } from './host-store.ts';
import { SshSession, type SshOptions } from './ssh-session.ts';

/** An SSH session to a recorded host, trusting only the host key recorded when it was provisioned. */
export function connectToHost(record: HostRecord, timeoutMs = 15_000): Promise<SshSession> {
  if (!record.ssh.hostKey) throw new HostSetupError(`host ${record.name} has never been reached: run \`dockvisor host provision ${record.name}\``);
  return SshSession.connect(
    { user: record.ssh.user, address: record.ssh.address, port: record.ssh.port },
    { ...sshOptions(record, {}), connectTimeoutMs: timeoutMs },
  );
}

export interface ConnectOptions {
  knownHostsFile?: string;
  acceptNewHostKey?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function sshOptions(record: HostRecord, connect: ConnectOptions): SshOptions {
  return {
    ...(record.ssh.identityFile ? { identityFile: record.ssh.identityFile } : {}),
    ...(record.ssh.hostKey ? { pinnedHostKey: record.ssh.hostKey } : {}),
    ...(connect.knownHostsFile ? { knownHostsFile: connect.knownHostsFile } : {}),
    acceptNewHostKey: connect.acceptNewHostKey === true,
  };
}
