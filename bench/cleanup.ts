import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from '../drivers/core/labels.ts';
import { temporaryPeerName } from '../drivers/core/nic-plumbing.ts';
import { linkExists, removeBridge, removeLink } from './links.ts';
import { forEachBounded } from './pool.ts';
import type { RawEngine } from './raw-engine.ts';
import { RAW_RESIZE_REPOSITORY } from './nova-resize-bench.ts';
import {
  BENCH_LABEL,
  BENCH_LABEL_VALUE,
  BRIDGE,
  FIRST_VM_ID,
  LAST_VM_ID,
  monitorConfigPath,
  monitorStateDir,
  NOVA_UUID_PREFIX,
  RAW_HOST_PREFIX,
  RAW_PEER_PREFIX,
  resultsDir,
} from './settings.ts';

const benchVmIds = Array.from({ length: LAST_VM_ID - FIRST_VM_ID + 1 }, (_, i) => FIRST_VM_ID + i);
const isBenchVmId = (id: string) => /^[0-9]+$/.test(id) && Number(id) >= FIRST_VM_ID && Number(id) <= LAST_VM_ID;

/** What a cleanup found and removed. */
export interface CleanupReport {
  containers: string[];
  links: string[];
  files: string[];
}

/** Containers are removed this many at a time: the monitoring bench leaves hundreds. */
const REMOVE_CONCURRENCY = 8;

/**
 * Removes everything a bench run makes, from this run or an interrupted earlier one: the baseline's
 * and the monitoring fleet's containers (by label), the deploy kind's and the nova part's containers
 * (dockvisor's, for the bench's VM ids and instance uuids only), their veths and temporary peers, the bench bridge and the driver's DOCKER-USER
 * rule for it, the probes' host config and state directory. Nothing else is touched.
 */
export async function cleanupBench(engine: RawEngine, progress: (line: string) => void = () => undefined): Promise<CleanupReport> {
  const containers: string[] = [];
  for (const c of await engine.containerNames({ label: [`${BENCH_LABEL}=${BENCH_LABEL_VALUE}`] })) containers.push(c.name);
  for (const c of await engine.containerNames({ label: [`${LABEL_OWNER}=${OWNER_VALUE}`] })) {
    const vmId = c.labels[LABEL_VM_ID] ?? '';
    if (isBenchVmId(vmId) && c.name === `one-${vmId}`) containers.push(c.name);
    if (vmId.startsWith(NOVA_UUID_PREFIX) && [`nova-${vmId}`, `nova-${vmId}-resize-source`].includes(c.name)) containers.push(c.name);
  }
  const started = performance.now();
  let removed = 0;
  let lastReport = started;
  const failures: string[] = [];
  await forEachBounded(containers, REMOVE_CONCURRENCY, async (name) => {
    // One that cannot be removed does not keep the others: all are tried, then the failures reported.
    await engine.removeContainer(name).catch((error: unknown) => failures.push(error instanceof Error ? error.message : String(error)));
    removed += 1;
    const now = performance.now();
    if (containers.length > 50 && (now - lastReport >= 10_000 || removed === containers.length)) {
      lastReport = now;
      progress(`cleanup: ${removed}/${containers.length} containers removed (${((now - started) / 1000).toFixed(0)} s)`);
    }
  });

  // The resize part's commits by hand (its instance's own go with the instance).
  const commits = await engine.json<{ RepoTags: string[] | null }[]>(
    'GET',
    `/images/json?${new URLSearchParams({ filters: JSON.stringify({ reference: [`${RAW_RESIZE_REPOSITORY}:*`] }) })}`,
    [200],
  );
  for (const tag of commits.flatMap((image) => image.RepoTags ?? [])) await engine.expect('DELETE', `/images/${encodeURIComponent(tag)}`, [200, 404, 409]);

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

  // Per-run scratch files a killed run may have left: GNU time's output, phase marks.
  const scratch = existsSync(resultsDir) ? readdirSync(resultsDir).filter((name) => /^(monitor-rss|phase-marks)-[0-9]+\.(txt|json)$/.test(name)) : [];
  const files = [monitorStateDir, monitorConfigPath, ...scratch.map((name) => join(resultsDir, name))].filter((path) => existsSync(path));
  for (const path of files) rmSync(path, { recursive: true, force: true });
  if (failures.length) throw new Error(`${failures.length} container(s) could not be removed: ${failures[0]}`);
  return { containers, links, files };
}
