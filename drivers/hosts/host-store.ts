import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../core/atomic-file.ts';
import { InvalidInputError } from '../core/errors.ts';

/** What the operator's machine knows of one provisioned host. Key material is never stored here: only its path. */
export interface HostRecord {
  name: string;
  ssh: {
    user: string;
    address: string;
    port: number;
    identityFile?: string;
    /**
     * The host's public key as it presented it at the first connection (`type base64`): the only one accepted since,
     * by the SSH sessions and, by its fingerprint, by the engine's SSH transport.
     */
    hostKey?: string;
  };
  /** Provisioning steps that are done, with when and what they found, so a failed run resumes where it stopped. */
  steps: Record<string, { done: boolean; at: string; detail?: string; changed?: boolean }>;
  /** The engine socket on the host (default /var/run/docker.sock). */
  engineSocket?: string;
  /** The account OpenNebula's drivers run as on the host (default oneadmin). */
  oneUser?: string;
  /** The image of the end-to-end probe container (pulled when missing). */
  probeImage?: string;
  /** OpenNebula's SCRIPTS_REMOTE_DIR on the host, where oned copies the remotes (default /var/tmp/one). */
  remotesDir?: string;
  /** Where the host is registered; null when the operator chose not to register it. */
  opennebula?: { endpoint?: string; clusterId: number; hostName: string } | null;
  oneHostId?: number;
  /**
   * The cloud VM the host is, when dockvisor made it from a VM template: written before the VM is asked for,
   * its id as soon as the cloud gives it, so that a create cut short anywhere is resumed, never forgotten.
   */
  vm?: HostVm;
  createdAt: string;
  updatedAt: string;
}

export interface HostVm {
  template: { id: number; name: string };
  /** The cloud's endpoint (its default when absent). */
  endpoint?: string;
  networkId?: number;
  cpu?: number;
  vcpu?: number;
  memoryMb?: number;
  /** How long the VM may take to run, get an address and answer SSH. */
  startTimeoutMs: number;
  id?: number;
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

/** The user's config directory, as other tools on Linux use it. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'dockvisor', 'hosts');
}

/**
 * One file a host, 0600 in a 0700 directory, each written whole and renamed into place so that a crash
 * never leaves half a record. Reads refuse a damaged file with its path rather than guess.
 */
export class HostStore {
  constructor(readonly dir = defaultStoreDir()) {}

  list(): HostRecord[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => this.read(file.slice(0, -'.json'.length)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string): HostRecord | undefined {
    return existsSync(this.path(name)) ? this.read(name) : undefined;
  }

  get(name: string): HostRecord {
    const record = this.find(name);
    if (!record) throw new InvalidInputError(`no host named ${name} in ${this.dir}`);
    return record;
  }

  save(record: HostRecord): HostRecord {
    const saved = { ...record, updatedAt: new Date().toISOString() };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    writeFileAtomically(this.path(record.name), `${JSON.stringify(saved, null, 2)}\n`, 0o600);
    return saved;
  }

  remove(name: string): void {
    rmSync(this.path(name), { force: true });
  }

  private read(name: string): HostRecord {
    const path = this.path(name);
    let record: HostRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as HostRecord;
    } catch (error) {
      throw new InvalidInputError(`host record ${path} cannot be read: ${(error as Error).message}`);
    }
    if (record?.name !== name || typeof record.ssh?.address !== 'string') {
      throw new InvalidInputError(`host record ${path} is not a dockvisor host record`);
    }
    // Records written before the key was pinned once also carry its fingerprint; the key says it already.
    const { hostKeySha256: _fingerprint, ...ssh } = record.ssh as HostRecord['ssh'] & { hostKeySha256?: string };
    return { ...record, ssh };
  }

  private path(name: string): string {
    if (!HOST_NAME.test(name)) {
      throw new InvalidInputError(`host name "${name.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}" must be letters, digits, dots and dashes`);
    }
    return join(this.dir, `${name}.json`);
  }
}
