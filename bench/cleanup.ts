import { readdirSync } from 'node:fs';
import { LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from '../drivers/core/labels.ts';
import { temporaryPeerName } from '../drivers/core/nic-plumbing.ts';
import { linkExists, removeBridge, removeLink } from './links.ts';
import type { RawEngine } from './raw-engine.ts';
import { BENCH_LABEL, BENCH_LABEL_VALUE, BRIDGE, FIRST_VM_ID, LAST_VM_ID, RAW_HOST_PREFIX, RAW_PEER_PREFIX } from './settings.ts';

const benchVmIds = Array.from({ length: LAST_VM_ID - FIRST_VM_ID + 1 }, (_, i) => FIRST_VM_ID + i);
const isBenchVmId = (id: string) => /^[0-9]+$/.test(id) && Number(id) >= FIRST_VM_ID && Number(id) <= LAST_VM_ID;

/** What a cleanup found and removed. */
export interface CleanupReport {
  containers: string[];
  links: string[];
}

/**
 * Removes everything a bench run makes, from this run or an interrupted earlier one: the baseline's
 * containers (by label), the deploy kind's containers (dockvisor's, for the bench's VM ids only),
 * their veths and temporary peers, the bench bridge and the driver's DOCKER-USER rule for it.
 * Nothing else is touched.
 */
export async function cleanupBench(engine: RawEngine): Promise<CleanupReport> {
  const containers: string[] = [];
  for (const c of await engine.containerNames({ label: [`${BENCH_LABEL}=${BENCH_LABEL_VALUE}`] })) containers.push(c.name);
  for (const c of await engine.containerNames({ label: [`${LABEL_OWNER}=${OWNER_VALUE}`] })) {
    const vmId = c.labels[LABEL_VM_ID] ?? '';
    if (isBenchVmId(vmId) && c.name === `one-${vmId}`) containers.push(c.name);
  }
  for (const name of containers) await engine.removeContainer(name);

  // The deploy kind's VMs have one NIC (id 0): host end one-<id>-0, and dvp<hash> while its peer is still on the host.
  const deployPeers = new Set(benchVmIds.map((id) => temporaryPeerName(`one-${id}-0`)));
  const links = readdirSync('/sys/class/net').filter(
    (name) =>
      name.startsWith(RAW_HOST_PREFIX) ||
      name.startsWith(RAW_PEER_PREFIX) ||
      deployPeers.has(name) ||
      isBenchVmId(/^one-([0-9]+)-[0-9]+$/.exec(name)?.[1] ?? ''),
  );
  for (const link of links) await removeLink(link);
  if (linkExists(BRIDGE)) links.push(BRIDGE);
  await removeBridge(BRIDGE);
  return { containers, links };
}
