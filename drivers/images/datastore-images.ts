import { InvalidInputError } from '../core/errors.ts';
import { printable } from '../core/validate.ts';
import { parseImageName, type ImageName } from './registry/image-name.ts';

/**
 * How images are laid out in the datastore registry: one repository per OpenNebula image, the registered
 * content pinned by digest in SOURCE, and the image's current content (after a persistent VM saved it back,
 * or a save-as filled it) under the repository's CURRENT_TAG.
 */
export const CURRENT_TAG = 'current';
export const FORMAT = 'docker';

export function imageRepository(imageId: number): string {
  return `dockvisor/image-${imageId}`;
}

/** The repository where a VM's disks travel between hosts during a cold migration. */
export function migrationRepository(vmId: number): string {
  return `dockvisor/vm-${vmId}`;
}

export function sourceFor(registry: string, repository: string, digest: string): string {
  return `docker://${registry}/${repository}@${digest}`;
}

/** A SOURCE this driver printed: `docker://<registry>/<repository>@sha256:...` in the given registry. */
export function parseSource(source: string, registry: string | undefined, what = 'SOURCE'): ImageName & { digest: string } {
  if (!source.startsWith('docker://')) throw new InvalidInputError(`${what} "${printable(source)}" is not a docker:// image of a dockvisor datastore`);
  const name = parseImageName(source.slice('docker://'.length), what);
  if (!name.digest) throw new InvalidInputError(`${what} "${printable(source)}" is not pinned by digest`);
  if (registry !== undefined && name.registry !== registry) {
    throw new InvalidInputError(`${what} "${printable(source)}" is not in this datastore's registry ${registry}`);
  }
  return { ...name, digest: name.digest };
}
