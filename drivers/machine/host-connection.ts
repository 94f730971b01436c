import type { HostRecord } from './host-store.ts';
import { sshOptions } from './provisioner.ts';
import { SshSession } from './ssh-session.ts';

/** An SSH session to a recorded host, trusting only the host key recorded when it was provisioned. */
export function connectToHost(record: HostRecord, timeoutMs = 15_000): Promise<SshSession> {
  if (!record.ssh.hostKey) throw new Error(`host ${record.name} has never been reached: run \`dockvisor host provision ${record.name}\``);
  return SshSession.connect({ user: record.ssh.user, address: record.ssh.address, port: record.ssh.port }, { ...sshOptions(record, {}), connectTimeoutMs: timeoutMs });
}
