import { HostSetupError, InvalidInputError } from '../core/errors.ts';
import { printable } from '../core/validate.ts';
import type { HostRecord, HostStore } from '../hosts/host-store.ts';
import type { ConnectOptions } from '../hosts/host-connection.ts';
import { parseSshTarget } from '../hosts/ssh-target.ts';
import type { CloudConnect } from './cloud-registration.ts';
import type { CloudVms, CloudVmsConnect } from './cloud-vms.ts';
import { hostKeyComment, hostKeyFile, hostKeyPair, removeHostKeyPair } from './host-key-pair.ts';
import { vmsHoldingHostKey } from './host-vm-lookup.ts';
import { checkHostSettings, provisionHost, type ProvisionSummary } from './provisioner.ts';
import type { ProvisionProgress } from './provision/progress.ts';
import { waitForRunningVm, waitForSsh, VmStartFailure } from './vm-start.ts';

export interface TemplateHostOptions {
  /** The cloud's VM template, by name or id. */
  template: string;
  /** The network of the VM's one NIC, by name or id (default: the template's NICs). */
  network?: string;
  cpu?: number;
  vcpu?: number;
  memoryMb?: number;
  sshUser: string;
  startTimeoutMs: number;
  /** The cloud's endpoint (its default when absent): the VM's and the registration's. */
  endpoint?: string;
  engineSocket?: string;
  oneUser?: string;
  probeImage?: string;
  remotesDir?: string;
  /** false: do not register with OpenNebula. `hostName` defaults to the VM's address. */
  register: false | { clusterId: number; hostName?: string };
}

export interface TemplateHostClouds {
  registration: CloudConnect;
  vms: CloudVmsConnect;
  /** How often the VM's state is looked at while waiting (default 1 s). */
  pollIntervalMs?: number;
}

/**
 * Makes a host out of a VM the cloud instantiates from a template. The record comes first (with a key pair made
 * for the host), then the VM, whose id is recorded the moment the cloud gives it; then the bounded waits for the
 * VM to run with an address and for SSH, and then the provisioning steps of any host.
 */
export async function createHostFromTemplate(
  store: HostStore,
  name: string,
  options: TemplateHostOptions,
  connect: ConnectOptions,
  progress: ProvisionProgress,
  clouds: TemplateHostClouds,
): Promise<ProvisionSummary> {
  if (store.find(name)) throw new InvalidInputError(`host ${name} exists already: \`dockvisor host provision ${name}\` runs its steps again`);
  const user = sshUser(options.sshUser);
  checkHostSettings({ ...options, ...(options.register ? { clusterId: options.register.clusterId } : {}) });
  const at = { env: connect.env ?? process.env, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
  const cloud = clouds.vms(at);
  let template: { id: number; name: string };
  let network: { id: number; name: string } | undefined;
  try {
    template = await cloud.template(options.template);
    network = options.network === undefined ? undefined : await cloud.network(options.network);
  } finally {
    cloud.close();
  }
  const { privateKeyFile } = hostKeyPair(hostKeyFile(store, name), hostKeyComment(name));
  const now = new Date().toISOString();
  const record: HostRecord = {
    name,
    ssh: { user, address: '', port: 22, identityFile: privateKeyFile },
    steps: {},
    ...(options.engineSocket ? { engineSocket: options.engineSocket } : {}),
    ...(options.oneUser ? { oneUser: options.oneUser } : {}),
    ...(options.probeImage ? { probeImage: options.probeImage } : {}),
    ...(options.remotesDir ? { remotesDir: options.remotesDir } : {}),
    opennebula: options.register
      ? { ...(options.endpoint ? { endpoint: options.endpoint } : {}), clusterId: options.register.clusterId, hostName: options.register.hostName ?? '' }
      : null,
    vm: {
      template,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(network ? { networkId: network.id } : {}),
      ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
      ...(options.vcpu !== undefined ? { vcpu: options.vcpu } : {}),
      ...(options.memoryMb !== undefined ? { memoryMb: options.memoryMb } : {}),
      startTimeoutMs: options.startTimeoutMs,
    },
    createdAt: now,
    updatedAt: now,
  };
  store.save(record);
  return provisionTemplateHost(store, name, connect, progress, clouds);
}

/**
 * `dockvisor host provision` of a host made from a template: its VM is found (or, when a create was cut short
 * before asking for it, instantiated), waited for, and then provisioned like any host. When the VM itself fails
 * (it did not boot, got no usable address, never answered SSH) it is terminated and the host forgotten: one line
 * says why, nothing is left behind.
 */
export async function provisionTemplateHost(
  store: HostStore,
  name: string,
  connect: ConnectOptions,
  progress: ProvisionProgress,
  clouds: TemplateHostClouds,
): Promise<ProvisionSummary> {
  const started = Date.now();
  const record = store.get(name);
  if (!record.vm) throw new InvalidInputError(`host ${name} was not made from a VM template`);
  const env = connect.env ?? process.env;
  let accepted = false;
  if (!record.steps.vm?.done || !record.ssh.hostKey) {
    const cloud = clouds.vms({ env, ...(record.vm.endpoint ? { endpoint: record.vm.endpoint } : {}) });
    try {
      const vmId = record.vm.id ?? (await obtainVm(store, record, cloud, progress));
      const deadline = Date.now() + record.vm.startTimeoutMs;
      const address = await waitForRunningVm(cloud, vmId, deadline, progress, clouds.pollIntervalMs ?? 1000);
      record.ssh.address = address;
      if (record.opennebula && !record.opennebula.hostName) record.opennebula.hostName = address;
      record.steps.vm = { done: true, at: new Date().toISOString(), detail: `VM ${vmId} RUNNING at ${address}`, changed: true };
      store.save(record);
      progress.finished(`VM ${vmId}`, `RUNNING at ${address}`, true);
      record.ssh.hostKey = await waitForSsh(record, connect, deadline, progress, clouds.pollIntervalMs ?? 1000);
      store.save(record);
      accepted = true;
    } catch (error) {
      // A refusal of the VM (quota, template gone) or a VM that failed: nothing worth keeping. Anything else
      // (oned or the network failing) keeps the record for `host provision` to resume.
      if (error instanceof VmStartFailure || error instanceof InvalidInputError) await discard(store, record, cloud, (error as Error).message);
      throw new HostSetupError(`${(error as Error).message}; resume with: dockvisor host provision ${name}`);
    } finally {
      cloud.close();
    }
  }
  const summary = await provisionHost(store, name, connect, progress, clouds.registration);
  return { ...summary, steps: summary.steps + 1, changes: summary.changes + (accepted ? 1 : 0), elapsedMs: Date.now() - started };
}

/** The VM for a record that has no VM id yet: the one an earlier run asked for, found by its name and key, or a new one. */
async function obtainVm(store: HostStore, record: HostRecord, cloud: CloudVms, progress: ProvisionProgress): Promise<number> {
  const vm = record.vm!;
  const { publicKey } = hostKeyPair(record.ssh.identityFile!, hostKeyComment(record.name));
  const title = `VM from template ${vm.template.name} (${vm.template.id})`;
  progress.started(title);
  const earlier = await vmsHoldingHostKey(cloud, record.name, publicKey, (line) => progress.finished(`VMs named ${record.name}`, line, false));
  if (earlier.length > 1) {
    throw new HostSetupError(
      `several VMs named ${record.name} hold this host's key (${earlier.join(', ')}): terminate the ones that are not this host's, then run dockvisor host provision ${record.name}`,
    );
  }
  const id =
    earlier[0] ??
    (await cloud.instantiate(vm.template.id, record.name, {
      hostname: record.name,
      sshPublicKey: publicKey,
      ...(record.ssh.user !== 'root' ? { username: record.ssh.user } : {}),
      ...(vm.networkId !== undefined ? { networkId: vm.networkId } : {}),
      ...(vm.cpu !== undefined ? { cpu: vm.cpu } : {}),
      ...(vm.vcpu !== undefined ? { vcpu: vm.vcpu } : {}),
      ...(vm.memoryMb !== undefined ? { memoryMb: vm.memoryMb } : {}),
    }));
  vm.id = id;
  store.save(record);
  progress.finished(title, earlier.length > 0 ? `VM ${id}, asked for by an earlier run` : `VM ${id}`, earlier.length === 0);
  return id;
}

/** The VM failed on its own account: it is terminated, the host's key and record removed. */
async function discard(store: HostStore, record: HostRecord, cloud: CloudVms, reason: string): Promise<never> {
  const id = record.vm?.id;
  let left = '';
  if (id !== undefined) {
    try {
      await cloud.terminate(id);
    } catch (error) {
      left = `; VM ${id} could not be terminated (${(error as Error).message}): the host is kept, \`dockvisor host rm ${record.name}\` terminates it`;
    }
  }
  if (!left) {
    if (record.ssh.identityFile) removeHostKeyPair(record.ssh.identityFile);
    store.remove(record.name);
  }
  throw new HostSetupError(`${reason}${left || (id !== undefined ? `; VM ${id} terminated, host ${record.name} forgotten` : '')}`);
}

function sshUser(user: string): string {
  try {
    return parseSshTarget(`${user}@localhost`).user;
  } catch {
    throw new InvalidInputError(`--ssh-user "${printable(user)}" is not a user name`);
  }
}
