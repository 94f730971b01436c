import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A host key as the server presented it: the raw public key blob. */
export interface PresentedHostKey {
  type: string;
  blob: Buffer;
}

export type HostKeyVerdict = { kind: 'known' } | { kind: 'unknown' } | { kind: 'changed'; line: number } | { kind: 'revoked'; line: number };

export function presentedHostKey(blob: Buffer): PresentedHostKey {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  if (!length || !/^[a-z0-9@.-]+$/.test(type)) throw new Error('the server sent a malformed host key');
  return { type, blob };
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** How OpenSSH names a host in known_hosts: bare on port 22, `[host]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/**
 * Checks a presented key against an OpenSSH known_hosts file: plain and hashed (`|1|salt|hmac`) host
 * patterns, wildcards, negations and the @revoked marker. A host listed only with other keys is "changed":
 * like OpenSSH with StrictHostKeyChecking, a key that differs from the recorded one is never accepted.
 */
export function checkHostKey(file: string, address: string, port: number, key: PresentedHostKey): HostKeyVerdict {
  if (!existsSync(file)) return { kind: 'unknown' };
  const name = knownHostsName(address, port);
  const encoded = key.blob.toString('base64');
  let verdict: HostKeyVerdict = { kind: 'unknown' };
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const fields = raw.trim().split(/\s+/);
      if (!fields[0] || fields[0].startsWith('#')) return;
      const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
      const [patterns, type, blob] = fields;
      if (!patterns || !type || !blob || marker === '@cert-authority') return;
      if (!matchesHost(patterns, name)) return;
      if (marker === '@revoked') {
        if (blob === encoded) verdict = { kind: 'revoked', line: index + 1 };
        return;
      }
      if (verdict.kind === 'revoked') return;
      if (type === key.type && blob === encoded) {
        if (verdict.kind !== 'changed') verdict = { kind: 'known' };
      } else if (type === key.type && verdict.kind !== 'known') {
        verdict = { kind: 'changed', line: index + 1 };
      }
    });
  return verdict;
}

/** Records a newly accepted key the way OpenSSH would, creating the file (0600) and its directory (0700). */
export function recordHostKey(file: string, address: string, port: number, key: PresentedHostKey): string {
  const line = `${knownHostsName(address, port)} ${key.type} ${key.blob.toString('base64')}`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const needsNewline = existsSync(file) && !readFileSync(file, 'utf8').endsWith('\n') && readFileSync(file, 'utf8').length > 0;
  appendFileSync(file, `${needsNewline ? '\n' : ''}${line}\n`, { mode: 0o600 });
  return line;
}

function matchesHost(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    if (!wildcard(negated ? pattern.slice(1) : pattern).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
