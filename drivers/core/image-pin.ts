import type { ImageInspect } from '../engine/types.ts';

/**
 * The image `reference` names, pinned by digest: the reference itself when it carries one, else the registry
 * digest the engine recorded for the reference's repository, else the image's content id (an image that was
 * never pulled from or pushed to a registry). A container made from it keeps this very image, whatever the tag
 * points at later.
 */
export function pinnedReference(reference: string, image: ImageInspect): string {
  if (reference.includes('@sha256:')) return reference;
  const repository = familiar(repositoryOf(reference));
  const pinned = (image.RepoDigests ?? []).find((digest) => familiar(digest.slice(0, digest.indexOf('@'))) === repository);
  return pinned ?? image.Id;
}

/** Docker Hub's repositories as the engine shows them: `docker.io/library/busybox` is `busybox`. */
function familiar(repository: string): string {
  return repository.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

/** The reference without its tag: a colon after the last slash starts the tag, one before it is a registry's port. */
function repositoryOf(reference: string): string {
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.indexOf(':', lastSlash + 1);
  return colon < 0 ? reference : reference.slice(0, colon);
}
