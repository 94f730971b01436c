import { InvalidInputError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';
import { hostPool, type DiskFigures, type OneHost } from '../rpc/hosts.ts';
import { oneEndpoint } from '../rpc/one-credentials.ts';
import { OneRpc } from '../rpc/one-rpc.ts';
import { child, text, type XmlNode } from '../xml.ts';
import { readDsMessage } from '../datastore/ds-action-data.ts';

/** Hosts whose last figures say something about the space VMs can have now. */
const COUNTED_STATES = new Set(['MONITORED', 'MONITORING_MONITORED', 'DISABLED', 'MONITORING_DISABLED']);

export interface SystemDatastore {
  id: number;
  clusterIds: number[];
}

/** The system datastore `tm/dockvisor/monitor` is asked about: id and clusters, from its base64 document. */
export function readSystemDatastore(argv: string[], stdin: string): SystemDatastore {
  const datastore = child(readDsMessage(argv, stdin).data, 'DATASTORE', 'DS_DRIVER_ACTION_DATA/');
  if (!datastore) throw new InvalidInputError('DS_DRIVER_ACTION_DATA has no DATASTORE');
  const id = check.nonNegativeInteger(text(datastore, 'ID') ?? '', 'DATASTORE/ID', 2 ** 31);
  return { id, clusterIds: clusterIds(child(datastore, 'CLUSTERS', 'DATASTORE/')) };
}

function clusterIds(clusters: XmlNode | undefined): number[] {
  const ids = clusters?.ID;
  const list = ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
  return list.map((id, index) => {
    if (typeof id !== 'string') throw new InvalidInputError(`DATASTORE/CLUSTERS/ID[${index}] must be a number`);
    return check.nonNegativeInteger(id, 'DATASTORE/CLUSTERS/ID', 2 ** 31);
  });
}

/**
 * A dockvisor system datastore is the Docker storage of its hosts: its capacity is the sum of what the
 * dockvisor hosts of its clusters report for it (or for their Docker data root when they report no figure
 * for this datastore).
 */
export function systemDatastoreUsage(datastore: SystemDatastore, hosts: OneHost[]): DiskFigures & { hosts: number } {
  const ours = hosts.filter((host) => host.vmMad === 'dockvisor' && datastore.clusterIds.includes(host.clusterId) && COUNTED_STATES.has(host.state));
  const total = { totalMb: 0, freeMb: 0, usedMb: 0, hosts: ours.length };
  for (const host of ours) {
    const figures = host.datastores.get(datastore.id) ?? host.disk;
    total.totalMb += figures.totalMb;
    total.freeMb += figures.freeMb;
    total.usedMb += figures.usedMb;
  }
  return total;
}

/** `tm/dockvisor/monitor` on the front-end: the datastore's capacity as OpenNebula's DS monitor reads it. */
export async function monitorSystemDatastore(argv: string[], stdin: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const datastore = readSystemDatastore(argv, stdin);
  const rpc = new OneRpc(oneEndpoint({}, env), 15_000);
  try {
    const usage = systemDatastoreUsage(datastore, await hostPool(rpc));
    return `USED_MB=${usage.usedMb}\nTOTAL_MB=${usage.totalMb}\nFREE_MB=${usage.freeMb}\n`;
  } finally {
    rpc.close();
  }
}
