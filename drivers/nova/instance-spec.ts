import { posix } from 'node:path';
import { InvalidInputError } from '../core/errors.ts';
import type { GuestFile } from '../core/guest-files.ts';
import * as check from '../core/validate.ts';
import { noPrivileges, type NicSpec, type VmSpec } from '../core/vm-spec.ts';
import type { SpawnRequest } from './api-schemas.ts';
import { NOVA_LABEL_NAME, NOVA_LABEL_NICS, NOVA_LABEL_RESOURCES } from './nova-labels.ts';
import { networkNics } from './vif-nics.ts';

const MAX_FILE_BYTES = 16 * 1024;

/** What spawn and rebuild both say of an instance. */
export type InstanceDefinition = Omit<SpawnRequest, 'host' | 'power_on'>;

export function containerNameOf(uuid: string): string {
  return `nova-${uuid}`;
}

/** What Nova asks for at spawn or rebuild, as the core's VM: flavor, image, metadata as environment, VIFs as NICs. */
export function instanceSpec(request: InstanceDefinition): VmSpec {
  const where = `instance ${request.uuid}: `;
  const containerName = containerNameOf(request.uuid);
  const nics = networkNics(request.network_info ?? [], request.uuid);
  const { vcpus, memory_mb, root_gb } = request.flavor;
  return {
    frontEnd: 'nova',
    vmId: request.uuid,
    containerName,
    displayName: check.plainText(request.name ?? containerName, `${where}name`, 255),
    hostname: check.hostname(request.hostname ?? containerName, `${where}hostname`),
    image: check.imageReference(request.image, `${where}image`),
    command: request.command?.map((arg, i) => check.plainText(arg, `${where}command argument ${i}`, 4096)),
    environment: metadataEnvironment(request.metadata ?? {}, where),
    vcpu: vcpus,
    memoryMb: memory_mb,
    nics,
    privileges: { ...noPrivileges(), ...(request.runtime === undefined ? {} : { runtime: request.runtime }) },
    frontEndLabels: {
      [NOVA_LABEL_NICS]: JSON.stringify(nics),
      [NOVA_LABEL_RESOURCES]: JSON.stringify({ vcpus, memory_mb, root_gb }),
      ...(request.instance_name === undefined ? {} : { [NOVA_LABEL_NAME]: request.instance_name }),
    },
  };
}

/** Instance metadata reaches the processes as environment variables, so each key must be a valid name. */
function metadataEnvironment(metadata: Record<string, string>, where: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    environment[check.envName(key, `${where}metadata key`)] = check.plainText(value, `${where}metadata ${key}`, 255);
  }
  return environment;
}

/** Injected files: absolute, normalised paths outside the kernel's and the engine's own trees, base64 contents. */
export function injectedFiles(request: InstanceDefinition): GuestFile[] {
  const where = `instance ${request.uuid}: injected file`;
  const seen = new Set<string>();
  return (request.injected_files ?? []).map(({ path, contents }) => {
    check.plainText(path, `${where} path`, 255);
    if (!posix.isAbsolute(path) || posix.normalize(path) !== path || path.endsWith('/') || /[^\x21-\x7e]/.test(path)) {
      throw new InvalidInputError(`${where} "${check.printable(path)}" is not an absolute, normalised path of printable characters without spaces`);
    }
    if (/^\/(proc|sys|dev)(\/|$)/.test(path) || /^\/etc\/(hosts|hostname|resolv\.conf)$/.test(path)) {
      throw new InvalidInputError(`${where} ${path} is managed by the host and cannot be injected`);
    }
    if (seen.has(path)) throw new InvalidInputError(`${where} ${path} is given twice`);
    seen.add(path);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(contents) || contents.length % 4 !== 0) {
      throw new InvalidInputError(`${where} ${path}: contents are not base64`);
    }
    const bytes = Buffer.from(contents, 'base64');
    if (bytes.length > MAX_FILE_BYTES) throw new InvalidInputError(`${where} ${path} is larger than ${MAX_FILE_BYTES} bytes`);
    return { path, contents: bytes };
  });
}

/** The NICs the instance was spawned with, as kept on its container. */
export function storedNics(labels: Record<string, string>): NicSpec[] {
  const text = labels[NOVA_LABEL_NICS];
  return text ? (JSON.parse(text) as NicSpec[]) : [];
}
