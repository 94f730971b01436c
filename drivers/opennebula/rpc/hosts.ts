import { InvalidInputError } from '../../core/errors.ts';
import { child, children, parseDocument, text, type XmlNode } from '../xml.ts';
import { OneNameTakenError, OneRpcError } from './one-errors.ts';
import type { OneRpc } from './one-rpc.ts';

/** Host states as oned numbers them (include/Host.h). */
export const HOST_STATES = [
  'INIT',
  'MONITORING_MONITORED',
  'MONITORED',
  'ERROR',
  'DISABLED',
  'MONITORING_ERROR',
  'MONITORING_INIT',
  'MONITORING_DISABLED',
  'OFFLINE',
];

export interface OneHost {
  id: number;
  name: string;
  state: string;
  imMad: string;
  vmMad: string;
  clusterId: number;
  /** What the host's monitoring last reported of its storage, in MB: its own, and per system datastore. */
  disk: DiskFigures;
  datastores: Map<number, DiskFigures>;
}

export interface DiskFigures {
  totalMb: number;
  freeMb: number;
  usedMb: number;
}

/** Pools can be large on a busy front-end; they come from oned, not from a user. */
const MAX_POOL_BYTES = 256 * 1024 * 1024;

export async function hostPool(rpc: OneRpc): Promise<OneHost[]> {
  const xml = await rpc.call<string>('one.hostpool.info');
  // oned answers <HOST_POOL></HOST_POOL> before the first host is added: no hosts, not a malformed document.
  if (/^\s*<HOST_POOL\s*(\/>|>\s*<\/HOST_POOL>)\s*$/.test(xml)) return [];
  return children(parseDocument(xml, 'HOST_POOL', MAX_POOL_BYTES), 'HOST').map(readHost);
}

export async function hostInfo(rpc: OneRpc, id: number): Promise<OneHost> {
  const xml = await rpc.call<string>('one.host.info', id);
  return readHost(parseDocument(xml, 'HOST'));
}

/**
 * Registers a host with dockvisor's drivers, or finds it registered already: never a duplicate. A host
 * of that name with other drivers is refused rather than taken over.
 */
export async function registerHost(rpc: OneRpc, name: string, clusterId = -1): Promise<{ host: OneHost; created: boolean }> {
  try {
    const id = await rpc.call<number>('one.host.allocate', name, 'dockvisor', 'dockvisor', clusterId);
    return { host: await hostInfo(rpc, id), created: true };
  } catch (error) {
    if (!(error instanceof OneNameTakenError)) throw error;
    const existing = error.existingId !== undefined ? await hostInfo(rpc, error.existingId) : (await hostPool(rpc)).find((h) => h.name === name);
    if (!existing) throw error;
    if (existing.imMad !== 'dockvisor' || existing.vmMad !== 'dockvisor') {
      throw new InvalidInputError(
        `host ${name} is already registered in OpenNebula (id ${existing.id}) with drivers ${existing.imMad}/${existing.vmMad}, not dockvisor; left alone`,
      );
    }
    return { host: existing, created: false };
  }
}

/** Unregisters a host; one that is not registered is fine. */
export async function unregisterHost(rpc: OneRpc, id: number): Promise<void> {
  try {
    await rpc.call('one.host.delete', id);
  } catch (error) {
    if (!(error instanceof OneRpcError && error.kind === 'not-found')) throw error;
  }
}

export async function setHostEnabled(rpc: OneRpc, id: number, enabled: boolean): Promise<void> {
  await rpc.call('one.host.status', id, enabled ? 0 : 1);
}

function readHost(node: XmlNode): OneHost {
  const state = Number(text(node, 'STATE'));
  const stores = child(child(node, 'HOST_SHARE'), 'DATASTORES');
  const mb = (from: XmlNode | undefined, name: string) => Math.max(0, Number(text(from, name) ?? 0) || 0);
  return {
    id: Number(text(node, 'ID')),
    name: text(node, 'NAME') ?? '',
    state: HOST_STATES[state] ?? `UNKNOWN(${state})`,
    imMad: text(node, 'IM_MAD') ?? '',
    vmMad: text(node, 'VM_MAD') ?? '',
    clusterId: Number(text(node, 'CLUSTER_ID') ?? -1),
    disk: { totalMb: mb(stores, 'MAX_DISK'), freeMb: mb(stores, 'FREE_DISK'), usedMb: mb(stores, 'USED_DISK') },
    datastores: new Map(
      children(stores, 'DS').map((ds) => [Number(text(ds, 'ID')), { totalMb: mb(ds, 'TOTAL_MB'), freeMb: mb(ds, 'FREE_MB'), usedMb: mb(ds, 'USED_MB') }]),
    ),
  };
}
