import { ownedContainerFilter } from '../core/labels.ts';
import { hostEngine } from '../hosts/host-engine.ts';
import type { HostRecord } from '../hosts/host-store.ts';
import { formatSshTarget } from '../hosts/ssh-target.ts';
import type { CloudHost, CloudRegistration } from './cloud-registration.ts';
import type { CloudVmsConnect } from './cloud-vms.ts';

export interface HostStatus {
  name: string;
  ssh: string;
  state: 'Running' | 'Unreachable' | 'Timeout' | 'Provisioning incomplete';
  engineVersion?: string;
  containers?: number;
  vms?: number;
  opennebula?: { id: number; state: string } | null;
  /** The cloud VM the host is, when dockvisor made it from a template: its id (null before the cloud gave one) and state. */
  vm?: { id: number | null; state: string };
  error?: string;
}

/** One host's state, bounded by `timeoutMs` whatever the network does. */
export async function hostStatus(record: HostRecord, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<HostStatus> {
  const base = { name: record.name, ssh: formatSshTarget(record.ssh) };
  if (record.vm && !record.ssh.address) {
    return { ...base, state: 'Provisioning incomplete', error: `its VM has no address yet: dockvisor host provision ${record.name}` };
  }
  let engine: ReturnType<typeof hostEngine> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<HostStatus>((resolve) => {
    timer = setTimeout(() => resolve({ ...base, state: 'Timeout', error: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const probe = (async (): Promise<HostStatus> => {
    try {
      engine = hostEngine(record, timeoutMs, env);
      const [version, info, ours] = await Promise.all([engine.version(), engine.info(), engine.listContainers(ownedContainerFilter())]);
      const incomplete = Object.values(record.steps).some((step) => !step.done);
      return {
        ...base,
        state: incomplete ? 'Provisioning incomplete' : 'Running',
        engineVersion: version.Version,
        containers: info.Containers ?? 0,
        vms: ours.length,
      };
    } catch (error) {
      return { ...base, state: 'Unreachable', error: (error as Error).message };
    }
  })();
  try {
    return await Promise.race([probe, timedOut]);
  } finally {
    clearTimeout(timer);
    void engine?.close().catch(() => undefined);
  }
}

/** Every host at once, each within its own timeout; OpenNebula's view added when it can be had. */
export async function hostStatuses(
  records: HostRecord[],
  timeoutMs: number,
  cloud: CloudRegistration | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HostStatus[]> {
  const [statuses, oneHosts] = await Promise.all([
    Promise.all(records.map((record) => hostStatus(record, timeoutMs, env))),
    cloud ? cloud.hosts().catch(() => undefined) : Promise.resolve(undefined),
  ]);
  const byId = new Map<number, CloudHost>((oneHosts ?? []).map((host) => [host.id, host]));
  return statuses.map((status, index) => {
    const record = records[index]!;
    if (record.opennebula === null) return { ...status, opennebula: null };
    if (record.oneHostId === undefined || !oneHosts) return status;
    const host = byId.get(record.oneHostId);
    return { ...status, opennebula: host ? { id: host.id, state: host.state } : { id: record.oneHostId, state: 'GONE' } };
  });
}

/**
 * The states of the VMs of hosts made from templates, each within `timeoutMs`, added to their statuses; a host
 * whose VM cannot be looked at says why in its state. Hosts of other kinds are left as they are.
 */
export async function withVmStates(
  statuses: HostStatus[],
  records: HostRecord[],
  vms: CloudVmsConnect | undefined,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HostStatus[]> {
  return Promise.all(
    statuses.map(async (status, index) => {
      const vm = records[index]!.vm;
      if (!vm) return status;
      if (vm.id === undefined) return { ...status, vm: { id: null, state: 'not asked for yet' } };
      if (!vms) return { ...status, vm: { id: vm.id, state: 'UNKNOWN (no OpenNebula credentials)' } };
      let cloud: ReturnType<CloudVmsConnect> | undefined;
      let timer: NodeJS.Timeout | undefined;
      try {
        cloud = vms({ env, ...(vm.endpoint ? { endpoint: vm.endpoint } : {}) });
        const found = await Promise.race([
          cloud.vm(vm.id),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
        ]);
        return { ...status, vm: { id: vm.id, state: found ? found.state : 'GONE' } };
      } catch (error) {
        return { ...status, vm: { id: vm.id, state: `UNKNOWN (${(error as Error).message.slice(0, 80)})` } };
      } finally {
        clearTimeout(timer);
        cloud?.close();
      }
    }),
  );
}
