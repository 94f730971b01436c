import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '../..');
export const vmmRemotes = join(repoRoot, 'remotes/vmm/dockvisor');
/** What a real OpenNebula 7.4 front-end passes to the driver's actions (test/fixtures/opennebula-7.4/README.md). */
export const recorded = join(repoRoot, 'test/fixtures/opennebula-7.4/recorded');
/** XML-RPC exchanges recorded with that front-end's oned. */
export const xmlrpc = join(repoRoot, 'test/fixtures/opennebula-7.4/xmlrpc');
export const stateDir = join(repoRoot, 'test/.state');

/**
 * The tests' state directory, made readable by the non-root users some tests run the driver as: a file that makes
 * its own directory below it (mode 0700, recursive) would otherwise make it 0700 too, when it comes first.
 */
export function ensureStateDir(): string {
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755);
  return stateDir;
}
export const BASE_IMAGE = 'dockvisor/busybox:latest';
export const ENGINE_SOCKET = '/var/run/docker.sock';
