import { readFileSync } from 'node:fs';
import { InvalidInputError } from '../core/errors.ts';
import { printable, wholeNumber } from '../core/validate.ts';
import { isLoopbackRegistry } from './registry/image-name.ts';
import type { RegistryCredentials } from './registry/registry-auth.ts';
import type { RegistryEndpoint } from './registry/registry-client.ts';

/** What a dockvisor image datastore's template says, already checked. */
export interface DatastoreConfig {
  id: number;
  registry: RegistryEndpoint;
  /** The registry's storage directory, when it is on this machine: monitor reports its filesystem. */
  storagePath?: string;
  /** What the operator says the registry can hold (REGISTRY_CAPACITY_MB), when its storage is not visible here. */
  capacityMb?: number;
  /** Local paths an image PATH may not come from, unless also under a safe directory (as OpenNebula's fs driver). */
  restrictedDirs: string[];
  safeDirs: string[];
}

export type TemplateReader = (name: string) => string | undefined;

const REGISTRY_ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$/;

export function datastoreConfig(id: number, attribute: TemplateReader): DatastoreConfig {
  const where = `datastore ${id}: `;
  const address = attribute('REGISTRY');
  if (!address) throw new InvalidInputError(`${where}REGISTRY = "host:port" is missing from the datastore template`);
  if (!REGISTRY_ADDRESS.test(address)) throw new InvalidInputError(`${where}REGISTRY "${printable(address)}" is not host[:port]`);
  const tlsText = attribute('REGISTRY_TLS')?.toUpperCase();
  if (tlsText !== undefined && tlsText !== 'YES' && tlsText !== 'NO') throw new InvalidInputError(`${where}REGISTRY_TLS must be YES or NO`);
  const tls = tlsText ? tlsText === 'YES' : !isLoopbackRegistry(address);
  const credentialsPath = attribute('REGISTRY_CREDENTIALS');
  const storagePath = attribute('REGISTRY_STORAGE_PATH');
  if (storagePath && !storagePath.startsWith('/')) throw new InvalidInputError(`${where}REGISTRY_STORAGE_PATH must be an absolute path`);
  const capacityText = attribute('REGISTRY_CAPACITY_MB');
  return {
    id,
    registry: { address, tls, credentials: credentialsPath ? readCredentials(credentialsPath, where) : undefined },
    storagePath,
    capacityMb: capacityText === undefined ? undefined : wholeNumber(capacityText, `${where}REGISTRY_CAPACITY_MB`, 1, 2 ** 40),
    restrictedDirs: words(attribute('RESTRICTED_DIRS')),
    safeDirs: words(attribute('SAFE_DIRS')),
  };
}

/**
 * `username:password` on the first line, or JSON `{"username": ..., "password": ...}`. Errors name the
 * file, never its content.
 */
export function readCredentials(path: string, where: string): RegistryCredentials {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`${where}REGISTRY_CREDENTIALS file ${printable(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const trimmed = content.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { username?: unknown; password?: unknown };
      if (typeof parsed.username === 'string' && typeof parsed.password === 'string') return { username: parsed.username, password: parsed.password };
    } catch {
      // reported below without echoing the content
    }
  } else {
    const line = trimmed.split('\n')[0] ?? '';
    const colon = line.indexOf(':');
    if (colon > 0) return { username: line.slice(0, colon), password: line.slice(colon + 1) };
  }
  throw new InvalidInputError(`${where}REGISTRY_CREDENTIALS file ${printable(path)} is neither "username:password" nor JSON with username and password`);
}

function words(value: string | undefined): string[] {
  return value ? value.split(/\s+/).filter(Boolean) : [];
}
