import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InvalidInputError, NotSupportedError } from '../../drivers/core/errors.ts';
import * as check from '../../drivers/core/validate.ts';
import { EngineClient } from '../../drivers/engine/engine-client.ts';
import { CURRENT_TAG, migrationRepository, parseSource } from '../datastore-images.ts';
import { HostDisks } from '../host-disks.ts';
import { RegistryClient } from '../registry/registry-client.ts';
import type { TarFile } from '../tarball/tar-writer.ts';
import { parseHostPath, requireDiskId, vmIdArg, type HostPath } from './tm-args.ts';
import { hostEndpoint, registryCredentialsFor, registryEndpointFor, type TmConfig } from './tm-config.ts';

/** One transfer action: OpenNebula's argv in; stdout is ignored by oned. */
export type TmAction = (argv: string[], tm: TransferContext) => Promise<void>;

/** What every transfer action works with: the front-end's config and one SSH connection per host it touches. */
export class TransferContext {
  private readonly engines = new Map<string, EngineClient>();
  private readonly registries = new Map<string, RegistryClient>();

  constructor(readonly config: TmConfig) {}

  disksOn(host: string): HostDisks {
    let engine = this.engines.get(host);
    if (!engine) {
      engine = new EngineClient(hostEndpoint(this.config, host), { timeoutMs: this.config.engineTimeoutMs });
      this.engines.set(host, engine);
    }
    return new HostDisks(engine, (registry) => registryCredentialsFor(this.config, registry), this.config.pullTimeoutMs);
  }

  registry(address: string): RegistryClient {
    let client = this.registries.get(address);
    if (!client) {
      client = new RegistryClient(registryEndpointFor(this.config, address));
      this.registries.set(address, client);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.engines.values()].map((engine) => engine.close()));
    await Promise.all([...this.registries.values()].map((registry) => registry.close()));
  }
}

const CONTEXT_FILES_LIMIT = 16 * 1024 * 1024;

/** The actions of remotes/tm/dockvisor; the ones missing here answer "not supported". */
export const tmActions: Record<string, TmAction> = {
  clone: placeDisk,
  ln: placeDisk,

  async mkimage(argv, tm) {
    const [, , dst, vid] = argv;
    const target = parseHostPath(dst, 'mkimage destination');
    await tm.disksOn(target.host).createEmptyVolume(vmIdArg(vid), requireDiskId(target, 'mkimage destination'));
  },

  async context(argv, tm) {
    if (argv.length < 4) throw new InvalidInputError('context expects <context.sh> [files...] <host>:<path> <vm id> <ds id>');
    const target = parseHostPath(argv[argv.length - 3], 'context destination');
    const vmId = vmIdArg(argv[argv.length - 2]);
    await tm.disksOn(target.host).writeContext(vmId, contextFiles(argv.slice(0, -3)));
  },

  async delete(argv, tm) {
    const [dst, vid] = argv;
    const target = parseHostPath(dst, 'delete path');
    const disks = tm.disksOn(target.host);
    if (target.diskId === undefined) await disks.removeVm(vmIdArg(vid));
    else await disks.removeDisk(vmIdArg(vid), target.diskId);
  },

  async mvds(argv, tm) {
    const [src, source, vid] = argv;
    await saveDisk(tm, parseHostPath(src, 'mvds disk'), source, vmIdArg(vid), 'mvds');
  },

  async cpds(argv, tm) {
    const [src, source, , vid] = argv;
    await saveDisk(tm, parseHostPath(src, 'cpds disk'), source, vmIdArg(vid), 'cpds');
  },

  async mv(argv, tm) {
    const [src, dst, vid] = argv;
    const from = parseHostPath(src, 'mv source');
    const to = parseHostPath(dst, 'mv destination');
    const vmId = vmIdArg(vid);
    if (from.host === to.host) return;
    if (from.diskId === undefined) {
      // The whole directory moves last: what is left of the VM on the old host (its context volume) goes.
      await tm.disksOn(from.host).removeVm(vmId);
      return;
    }
    await moveRootDisk(tm, from, to, vmId);
  },

  async premigrate() {
    throw new NotSupportedError('live migration is not supported by dockvisor: power the VM off and migrate it (cold migration)');
  },

  /** A live migration that never started (premigrate refused it) has nothing to undo. */
  async failmigrate() {},
};

/** clone/ln: `<SOURCE> <host>:<path>/disk.<i> <vm id> <ds id>`; the image's current content becomes the disk. */
async function placeDisk(argv: string[], tm: TransferContext): Promise<void> {
  const [source, dst, vid] = argv;
  const target = parseHostPath(dst, 'disk destination');
  const image = parseSource(check.plainText(source ?? '', 'SOURCE', 2048), undefined);
  const digest = (await tm.registry(image.registry).resolveManifest(image.repository, CURRENT_TAG)) ?? image.digest;
  await tm.disksOn(target.host).placeDisk(vmIdArg(vid), requireDiskId(target, 'disk destination'), { ...image, digest });
}

/** mvds (a persistent disk goes back) and cpds (save-as): the container's filesystem becomes the image's current content. */
async function saveDisk(tm: TransferContext, disk: HostPath, source: string | undefined, vmId: number, action: string): Promise<void> {
  const diskId = requireDiskId(disk, `${action} disk`);
  const image = parseSource(check.plainText(source ?? '', 'SOURCE', 2048), undefined);
  const disks = tm.disksOn(disk.host);
  if (!(await disks.hasRootDisk(vmId, diskId))) {
    throw new NotSupportedError(`${action}: saving disk ${diskId} of VM ${vmId} is not supported by dockvisor (only the root disk, the container's filesystem, can be saved)`);
  }
  await disks.saveContainer(vmId, image);
}

/** Cold migration of the root disk: commit on the old host, through the registry it came from, to the new host. */
async function moveRootDisk(tm: TransferContext, from: HostPath, to: HostPath, vmId: number): Promise<void> {
  const diskId = requireDiskId(from, 'mv source');
  const source = tm.disksOn(from.host);
  if (!(await source.hasRootDisk(vmId, diskId))) {
    if (await source.hasDiskVolume(vmId, diskId)) throw new NotSupportedError(`mv: moving disk ${diskId} of VM ${vmId} (a volume) to another host is not supported by dockvisor`);
    return; // the context or a volatile disk: remade on the new host
  }
  const registry = await source.rootDiskRegistry(vmId);
  if (!registry) throw new InvalidInputError(`mv: VM ${vmId}'s root disk on ${from.host} did not come from a registry; it cannot move`);
  const travel = { registry, repository: migrationRepository(vmId) };
  const tag = `disk-${diskId}`;
  await source.saveContainer(vmId, travel, tag);
  const destination = tm.disksOn(to.host);
  const pulled = await destination.pull(travel, tag);
  await destination.adoptRootDisk(vmId, diskId, pulled);
  await destination.untag(pulled);
  await source.removeDisk(vmId, diskId);
  const client = tm.registry(registry);
  const digest = await client.resolveManifest(travel.repository, tag);
  if (digest) await client.deleteManifest(travel.repository, digest);
}

/** context.sh and the FILES of the context (`path` or `path:'name'`), read on the front-end. */
function contextFiles(paths: string[]): TarFile[] {
  let total = 0;
  return paths.map((item) => {
    const renamed = /^(.*):'([^']+)'$/.exec(item);
    const path = renamed ? renamed[1]! : item;
    const name = renamed ? renamed[2]! : basename(path);
    if (!/^[A-Za-z0-9._-]{1,99}$/.test(name) || name === '.' || name === '..') throw new InvalidInputError(`context file name "${check.printable(name)}" is refused`);
    let content: Buffer;
    try {
      if (statSync(path).size > CONTEXT_FILES_LIMIT) throw new Error('too large');
      content = readFileSync(path);
    } catch (error) {
      throw new InvalidInputError(`context file ${check.printable(path)} cannot be read (${(error as Error).message})`);
    }
    total += content.length;
    if (total > CONTEXT_FILES_LIMIT) throw new InvalidInputError('the context files are larger than 16 MB together');
    return { name, content };
  });
}
