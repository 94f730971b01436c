import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineClient } from '../../drivers/engine/engine-client.ts';
import { buildMarkedImage, runDs, runTm, saveImage, TARBALL_DIR, tmConfigFor } from './datastore.ts';
import { createBridge, deleteBridge, linksStartingWith } from './net.ts';
import { ENGINE_SOCKET, stateDir } from './paths.ts';
import { TestHost } from './test-host.ts';
import { deployArgv, vmXml, type VmDraft } from './vm-xml.ts';
import { runAction, testConfigPath, type ActionResult } from './vmm.ts';

/** The image datastore's registry that scripts/setup.sh starts. */
export const DATASTORE_REGISTRY = '127.0.0.1:5400';

export interface RigPlan {
  /** Names the bridge, the hosts' config files and the image tarball. */
  name: string;
  bridge: string;
  /** The bridge's /24 as `a.b.c`: the machine is .1 on it, host n is .(11+n). */
  subnet: string;
  /** Per host: its name and its engine's own bridge address (a /24 of its own). */
  hosts: { name: string; engineBridge: string }[];
  /** More keys of the front-end's transfer config. */
  tmConfig?: Record<string, unknown>;
}

/**
 * A front-end with dockvisor hosts, as the datastore tests drive them: each host a network namespace with its own
 * sshd and engine, the transfer actions reaching them over SSH, and images registered from a tarball into the
 * datastore registry on the front-end's loopback.
 */
export class DatastoreRig {
  readonly hosts: TestHost[];
  readonly bridge: string;
  tmConfig = '';
  private readonly images = new Map<number, string>();
  private readonly tarball: string;

  constructor(private readonly plan: RigPlan) {
    this.bridge = plan.bridge;
    this.hosts = plan.hosts.map((host, n) => new TestHost(host.name, `${plan.subnet}.${11 + n}`, plan.bridge, host.engineBridge, { remoteForwarding: true }));
    this.tarball = join(TARBALL_DIR, `${plan.name}.tar`);
  }

  async start(): Promise<void> {
    createBridge(this.bridge, `${this.plan.subnet}.1/24`);
    await Promise.all(this.hosts.map((host) => host.start()));
    this.tmConfig = tmConfigFor(this.hosts, this.plan.name, this.plan.tmConfig);
    const local = new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET });
    const repo = `dvt-${this.plan.name}/base`;
    try {
      await buildMarkedImage(local, repo, '1', 'booted');
      mkdirSync(TARBALL_DIR, { recursive: true });
      saveImage(`${repo}:1`, this.tarball);
    } finally {
      await local.removeImage(`${repo}:1`).catch(() => undefined);
      await local.close();
    }
  }

  async stop(): Promise<void> {
    for (const [imageId, source] of this.images) await runDs('rm', { imageId, registry: DATASTORE_REGISTRY, source });
    const results = await Promise.allSettled(this.hosts.map((host) => host.stop()));
    deleteBridge(this.bridge);
    rmSync(this.tarball, { force: true });
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }

  /** Registers the rig's image as OpenNebula image `imageId`; returns its SOURCE. */
  async image(imageId: number): Promise<string> {
    const known = this.images.get(imageId);
    if (known) return known;
    const result = await runDs('cp', { imageId, registry: DATASTORE_REGISTRY, path: this.tarball });
    if (result.code !== 0) throw new Error(`cp image ${imageId}: ${result.stderr}`);
    const source = result.stdout.split(' ')[0]!;
    this.images.set(imageId, source);
    return source;
  }

  runTm(action: string, ...argv: string[]): Promise<ActionResult> {
    return runTm(action, argv, this.tmConfig);
  }

  async tm(action: string, ...argv: string[]): Promise<void> {
    const result = await this.runTm(action, ...argv);
    if (result.code !== 0) throw new Error(`tm ${action} ${argv.join(' ')}: ${result.stderr}`);
  }

  vmmConfig(host: TestHost): string {
    return testConfigPath({ engineSocket: host.engine.socket }, `${this.plan.name}-${host.name}.json`);
  }

  vmm(action: string, host: TestHost, argv: string[], stdin: string): Promise<ActionResult> {
    return runAction(action, argv, stdin, this.vmmConfig(host));
  }

  /** What oned runs to boot a VM: the root disk's clone, the context, then deploy on the host. */
  async boot(host: TestHost, draft: VmDraft): Promise<ActionResult> {
    await this.tm('clone', draft.disks![0]!.source!, diskPath(host.name, draft.id, 0), String(draft.id), '101');
    await this.context(host.name, draft.id);
    return this.vmm('deploy', host, deployArgv(draft.id), vmXml(draft));
  }

  async context(hostName: string, vid: number): Promise<void> {
    const script = join(stateDir, `${this.plan.name}-context-${vid}.sh`);
    writeFileSync(script, `DVT_CONTEXT='vm-${vid}'\n`);
    await this.tm('context', script, diskPath(hostName, vid, 1), String(vid), '100');
  }

  /** Whatever of VM `vid` a host still has: container, disk tags, volumes, snapshots, and its links here. */
  async leftovers(host: TestHost, vid: number): Promise<string[]> {
    return [...(await engineLeftovers(host, vid)), ...linksStartingWith(`one-${vid}-`)];
  }
}

/** Whatever of VM `vid` a host's engine still has: container, disk tags, volumes, snapshots. */
export async function engineLeftovers(host: TestHost, vid: number): Promise<string[]> {
  const engine = host.engine.client();
  try {
    const found: string[] = [];
    if (await engine.findContainer(`one-${vid}`)) found.push(`container one-${vid}`);
    found.push(...(await engine.imageTags(`dockvisor-disk/one-${vid}`)));
    found.push(...(await engine.listVolumes([`io.dockvisor.vm-id=${vid}`])));
    found.push(...(await engine.listImages([`io.dockvisor.snapshot-of=one-${vid}`])).map((i) => i.Id));
    return found;
  } finally {
    await engine.close();
  }
}

/** The VM's directory in system datastore 100, as oned names it (with its double slash). */
export const sysDir = (vid: number) => `/var/lib/one//datastores/100/${vid}`;
export const diskPath = (hostName: string, vid: number, disk: number) => `${hostName}:${sysDir(vid)}/disk.${disk}`;
export const vmDirPath = (hostName: string, vid: number) => `${hostName}:${sysDir(vid)}`;
