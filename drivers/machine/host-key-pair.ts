import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ssh2 from 'ssh2';
import { writeFileAtomically } from '../core/atomic-file.ts';
import { InvalidInputError } from '../core/errors.ts';
import type { HostStore } from '../hosts/host-store.ts';

/** Where a key the host store holds for a host lives: beside the store, as an imported key does. */
export function hostKeyFile(store: HostStore, name: string): string {
  return join(dirname(store.dir), 'keys', name);
}

/**
 * The key pair made for a host whose VM dockvisor creates: the private half in a 0600 file (its path goes into
 * the record, never the key), the public half for the VM's context. Made once: a resumed create reuses it.
 */
export function hostKeyPair(file: string, comment: string): { privateKeyFile: string; publicKey: string } {
  if (!existsSync(file)) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomically(file, pair.private, 0o600);
  }
  const parsed = ssh2.utils.parseKey(readFileSync(file));
  if (parsed instanceof Error) throw new InvalidInputError(`${file} is not a usable private key (${parsed.message})`);
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  return { privateKeyFile: file, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')} ${comment}` };
}

/** The public half of a key pair made for a host, as its VM's context holds it; undefined when the file is gone. */
export function hostPublicKey(file: string, comment: string): string | undefined {
  return existsSync(file) ? hostKeyPair(file, comment).publicKey : undefined;
}

export function removeHostKeyPair(file: string): void {
  rmSync(file, { force: true });
}

/** The comment of the key made for a host: who it is for, in the VM's authorized_keys. */
export function hostKeyComment(name: string): string {
  return `dockvisor-host-${name}`;
}
