import { ownedContainerFilter } from '../core/labels.ts';
import { hostEngine } from '../hosts/host-engine.ts';
import type { HostRecord } from '../hosts/host-store.ts';
import { formatSshTarget } from '../hosts/ssh-target.ts';
import type { CloudHost, CloudRegistration } from './cloud-registration.ts';

export interface HostStatus {
  name: string;
  ssh: string;
  state: 'Running' | 'Unreachable' | 'Timeout' | 'Provisioning incomplete';
  engineVersion?: string;
  containers?: number;
  vms?: number;
  opennebula?: { id: number; state: string } | null;
  error?: string;
}

/** One host's state, bounded by `timeoutMs` whatever the network does. */
export async function hostStatus(record: HostRecord, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<HostStatus> {
  const base = { name: record.name, ssh: formatSshTarget(record.ssh) };
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
