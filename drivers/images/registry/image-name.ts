import { InvalidInputError } from '../../core/errors.ts';
import { printable } from '../../core/validate.ts';

/** A Docker image name split into its parts: `registry/repository[:tag][@digest]`. */
export interface ImageName {
  /** host[:port] of the registry; Docker Hub is registry-1.docker.io. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = 'registry-1.docker.io';
const REGISTRY_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Parses a name as `docker pull` reads it. Everything is checked against the distribution grammar, so a
 * name can never carry a path, a query or shell text into a URL or a command.
 */
export function parseImageName(text: string, what = 'image name'): ImageName {
  const refuse = (why: string): never => {
    throw new InvalidInputError(`${what} "${printable(text)}" ${why}`);
  };
  if (text.length === 0 || text.length > 512) refuse('is empty or too long');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) refuse('has a digest that is not sha256:<64 hex digits>');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) refuse('has an invalid tag');
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = first;
    parts.shift();
    if (!REGISTRY_HOST.test(registry)) refuse('names a registry that is not host[:port]');
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  if (parts.length === 0 || parts.some((part) => !PATH_COMPONENT.test(part))) refuse('is not a valid repository name (lowercase letters, digits, . _ - and /)');
  const repository = parts.join('/');
  if (repository.length > 255) refuse('has a repository name longer than 255 characters');
  return { registry, repository, tag, digest };
}

/** The form `docker pull` accepts; a digest wins over a tag. */
export function formatImageName(name: ImageName): string {
  const base = `${name.registry}/${name.repository}`;
  if (name.digest) return `${base}@${name.digest}`;
  return `${base}:${name.tag ?? 'latest'}`;
}

/** What to ask the registry for: the digest when pinned, else the tag. */
export function manifestReference(name: ImageName): string {
  return name.digest ?? name.tag ?? 'latest';
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
}
