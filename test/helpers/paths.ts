import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '../..');
export const vmmRemotes = join(repoRoot, 'remotes/vmm/dockvisor');
/** What a real OpenNebula 7.4 front-end passes to the driver's actions (test/fixtures/opennebula-7.4/README.md). */
export const recorded = join(repoRoot, 'test/fixtures/opennebula-7.4/recorded');
/** XML-RPC exchanges recorded with that front-end's oned. */
export const xmlrpc = join(repoRoot, 'test/fixtures/opennebula-7.4/xmlrpc');
export const stateDir = join(repoRoot, 'test/.state');
export const BASE_IMAGE = 'dockvisor/busybox:latest';
export const ENGINE_SOCKET = '/var/run/docker.sock';
