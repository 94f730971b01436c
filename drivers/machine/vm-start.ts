import { HostSetupError } from '../core/errors.ts';
import { pollUntil } from '../core/poll.ts';
import type { ConnectOptions } from '../hosts/host-connection.ts';
import type { HostRecord } from '../hosts/host-store.ts';
import { SshSession } from '../hosts/ssh-session.ts';
import type { CloudVms } from './cloud-vms.ts';
import type { ProvisionProgress } from './provision/progress.ts';

/** The VM itself failed to become a host (did not boot, no usable address, no SSH): it is not worth keeping. */
export class VmStartFailure extends HostSetupError {
  constructor(message: string) {
    super(message);
    this.name = 'VmStartFailure';
  }
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** Waits, until `deadline`, for the VM to be RUNNING with a usable address; returns the address (the caller says so, once it is recorded). */
export async function waitForRunningVm(cloud: CloudVms, id: number, deadline: number, progress: ProvisionProgress, intervalMs: number): Promise<string> {
  const title = `VM ${id}`;
  const started = Date.now();
  let last = 'not looked at yet';
  progress.started(title);
  const address = await pollUntil(
    async () => {
      const vm = await cloud.vm(id);
      if (!vm || vm.done) throw fail(`VM ${id} is gone from OpenNebula (${vm ? vm.state : 'no such VM'})`);
      if (vm.failure) throw fail(`VM ${id} failed to boot: ${vm.failure}`);
      last = vm.state;
      if (vm.running && vm.address) {
        if ('refusal' in vm.address) throw fail(`VM ${id}: ${vm.address.refusal}; refused`);
        return vm.address.address;
      }
      progress.waiting?.(title, vm.running ? `${vm.state}, no address yet` : vm.state, Date.now() - started);
      if (vm.running) last = `${vm.state} without an address`;
      return undefined;
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs },
  );
  if (!address) {
    const why = /without an address/.test(last)
      ? `VM ${id} got no address within ${seconds(Date.now() - started)} (its first NIC has no EXTERNAL_IP, IP or IP6_GLOBAL)`
      : `VM ${id} did not reach RUNNING within ${seconds(Date.now() - started)} (last ${last}); a longer --start-timeout may help`;
    throw fail(why);
  }
  return address;

  function fail(message: string): VmStartFailure {
    progress.failed(title, message);
    return new VmStartFailure(message);
  }
}

/**
 * Waits, until `deadline`, for the VM to answer SSH with the host's key (its context authorises it at boot);
 * returns the host key it presented, accepted as the first key of a VM just made.
 */
export async function waitForSsh(
  record: HostRecord,
  connect: ConnectOptions,
  deadline: number,
  progress: ProvisionProgress,
  intervalMs: number,
): Promise<string> {
  const { user, address, port } = record.ssh;
  const title = `SSH to ${user}@${address}`;
  const started = Date.now();
  let last = '';
  progress.started(title);
  const hostKey = await pollUntil(
    async () => {
      try {
        const session = await SshSession.connect(
          { user, address, port },
          {
            identityFile: record.ssh.identityFile!,
            acceptNewHostKey: true,
            ...(connect.knownHostsFile ? { knownHostsFile: connect.knownHostsFile } : {}),
            connectTimeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())),
          },
        );
        session.close();
        return session.hostKeyLine;
      } catch (error) {
        last = (error as Error).message;
        // known_hosts holding another key for the address (a VM that had it before): waiting will not change it.
        if (/host key of \S+ (changed|\(.*\) is revoked)/.test(last)) {
          progress.failed(title, last);
          throw new VmStartFailure(last);
        }
        progress.waiting?.(title, 'no answer yet', Date.now() - started);
        return undefined;
      }
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs },
  );
  if (!hostKey) {
    const message = `SSH to ${user}@${address} never came up within ${seconds(Date.now() - started)}: ${last}`;
    progress.failed(title, message);
    throw new VmStartFailure(message);
  }
  progress.finished(title, 'answers with the key made for the host', true);
  return hostKey;
}
