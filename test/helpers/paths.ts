import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '../..');
export const vmmRemotes = join(repoRoot, 'remotes/vmm/dockvisor');
export const recorded = join(repoRoot, '../shared/opennebula/recorded-7.4');
export const stateDir = join(repoRoot, 'test/.state');
export const BASE_IMAGE = 'dockvisor/busybox:latest';
export const ENGINE_SOCKET = '/var/run/docker.sock';
