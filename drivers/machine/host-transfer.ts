import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../core/atomic-file.ts';
import { InvalidInputError } from '../core/errors.ts';
import { readSmallFile } from '../core/regular-file.ts';
import { readBoundedStdin } from '../core/bounded-stdin.ts';
import type { HostRecord, HostStore, HostVm } from '../hosts/host-store.ts';
import { checkHostSettings } from './provisioner.ts';
import { parseSshTarget } from '../hosts/ssh-target.ts';

const FORMAT = 'dockvisor-host/1';
const MAX_BUNDLE_BYTES = 1024 * 1024;

/** A host as one operator hands it to another: its record, and its private key only when asked. */
export interface HostBundle {
  format: typeof FORMAT;
  host: Omit<HostRecord, 'createdAt' | 'updatedAt'>;
  identityKey?: string;
}

export function exportHost(record: HostRecord, withKey: boolean): HostBundle {
  const { createdAt: _created, updatedAt: _updated, ...host } = record;
  const bundle: HostBundle = { format: FORMAT, host: { ...host, ssh: { ...host.ssh } } };
  if (withKey) {
    if (!record.ssh.identityFile) throw new InvalidInputError(`host ${record.name} uses ssh-agent: there is no key file to include`);
    bundle.identityKey = readFileSync(record.ssh.identityFile, 'utf8');
  }
  delete bundle.host.ssh.identityFile;
  return bundle;
}

/** The text of a bundle: a regular file, or stdin for `-`, of at most 1 MiB (a bundle is a few KB of JSON). */
export async function readHostBundle(file: string): Promise<string> {
  if (file === '-') return readBoundedStdin(MAX_BUNDLE_BYTES);
  return (await readSmallFile(file, MAX_BUNDLE_BYTES, 'host bundle')).toString('utf8');
}

/**
 * Adds an exported host to this store. The host key recorded at export is the one trusted; a key in the
 * bundle goes to a 0600 file under the config directory. An existing host of that name is never replaced.
 */
export function importHost(store: HostStore, text: string, options: { name?: string; identityFile?: string }): HostRecord {
  if (Buffer.byteLength(text) > MAX_BUNDLE_BYTES) throw new InvalidInputError('the host bundle is larger than 1 MiB');
  let bundle: HostBundle;
  try {
    bundle = JSON.parse(text) as HostBundle;
  } catch {
    throw new InvalidInputError('the host bundle is not JSON');
  }
  if (bundle?.format !== FORMAT || typeof bundle.host !== 'object' || bundle.host === null)
    throw new InvalidInputError(`the host bundle is not a ${FORMAT} document`);
  const { host } = bundle;
  const name = options.name ?? host.name;
  if (typeof name !== 'string') throw new InvalidInputError('the host bundle has no name');
  const ssh = host.ssh ?? ({} as HostRecord['ssh']);
  parseSshTarget(`${ssh.user}@${String(ssh.address).includes(':') ? `[${ssh.address}]` : ssh.address}:${ssh.port}`);
  if (typeof ssh.hostKey !== 'string' || !/^[a-z0-9@.-]+ [A-Za-z0-9+/=]+$/.test(ssh.hostKey))
    throw new InvalidInputError('the host bundle has no valid host key');
  if (typeof host.steps !== 'object' || host.steps === null) throw new InvalidInputError('the host bundle has no steps');
  checkHostSettings({ ...host, clusterId: host.opennebula?.clusterId });
  if (
    host.opennebula !== undefined &&
    host.opennebula !== null &&
    (typeof host.opennebula !== 'object' || typeof host.opennebula.hostName !== 'string' || !Number.isInteger(host.opennebula.clusterId))
  ) {
    throw new InvalidInputError('the host bundle has a malformed opennebula section');
  }
  if (host.vm !== undefined && !isHostVm(host.vm)) throw new InvalidInputError('the host bundle has a malformed vm section');
  if (store.find(name)) throw new InvalidInputError(`host ${name} exists already here: import it under another name with --name`);
  let identityFile = options.identityFile;
  if (bundle.identityKey !== undefined) {
    if (typeof bundle.identityKey !== 'string' || !/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(bundle.identityKey))
      throw new InvalidInputError('the key in the host bundle is not a private key');
    identityFile = join(dirname(store.dir), 'keys', name);
    mkdirSync(dirname(identityFile), { recursive: true, mode: 0o700 });
    writeFileAtomically(identityFile, bundle.identityKey, 0o600);
  }
  if (identityFile && !existsSync(identityFile)) throw new InvalidInputError(`identity file ${identityFile} does not exist`);
  const now = new Date().toISOString();
  const record: HostRecord = {
    ...host,
    name,
    ssh: {
      user: ssh.user,
      address: ssh.address,
      port: ssh.port,
      hostKey: ssh.hostKey,
      ...(identityFile ? { identityFile } : {}),
    },
    createdAt: now,
    updatedAt: now,
  };
  return store.save(record);
}

/** The VM section of a host made from a template, as a bundle may carry it: whole numbers where oned takes ids. */
function isHostVm(vm: unknown): vm is HostVm {
  if (typeof vm !== 'object' || vm === null) return false;
  const { template, id, networkId, cpu, vcpu, memoryMb, startTimeoutMs, endpoint } = vm as Record<string, unknown>;
  const whole = (value: unknown) => value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0);
  const t = template as Record<string, unknown> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    whole(t.id) &&
    t.id !== undefined &&
    typeof t.name === 'string' &&
    whole(id) &&
    whole(networkId) &&
    whole(vcpu) &&
    whole(memoryMb) &&
    (cpu === undefined || (typeof cpu === 'number' && cpu > 0 && cpu <= 1024)) &&
    Number.isSafeInteger(startTimeoutMs) &&
    (endpoint === undefined || (typeof endpoint === 'string' && /^https?:\/\/\S+$/.test(endpoint)))
  );
}
