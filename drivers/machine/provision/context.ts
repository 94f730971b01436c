import { HostSetupError } from '../../core/errors.ts';
import { DEFAULT_ENGINE_SOCKET } from '../../core/host-settings.ts';
import type { HostEngine } from '../../core/open-engine.ts';
import { engineOverSsh } from '../../hosts/host-engine.ts';
import type { HostRecord } from '../../hosts/host-store.ts';
import type { CloudConnect, CloudRegistration } from '../cloud-registration.ts';
import type { SupportedOs } from '../host-os.ts';
import { SYSTEM_RUNTIME_DIR } from '../../runtime/runtime.ts';
import type { CommandOptions, SshSession } from '../../hosts/ssh-session.ts';
import { factsScript, parseFacts, type HostSurvey } from './host-survey.ts';

export const DEFAULT_ONE_USER = 'oneadmin';
export const DEFAULT_PROBE_IMAGE = 'busybox:latest';
/** OpenNebula's default SCRIPTS_REMOTE_DIR. */
export const DEFAULT_REMOTES_DIR = '/var/tmp/one';
/** The engine label that marks a dockvisor host. */
export const HOST_LABEL = 'io.dockvisor.managed=true';

/** What the steps of one provisioning run share: the SSH session, the record, what the host was found to be. */
export class ProvisionContext {
  os: SupportedOs | undefined;
  private engineClient: HostEngine | undefined;
  private looked: Promise<HostSurvey> | undefined;

  constructor(
    readonly record: HostRecord,
    readonly session: SshSession,
    readonly env: NodeJS.ProcessEnv = process.env,
    /** Where dockvisor's Node.js runtime goes on the host: where the driver's launchers look for it. */
    readonly runtimeDir: string = SYSTEM_RUNTIME_DIR,
    /** How to reach the cloud the host is registered with, when its record asks for a registration. */
    private readonly cloud?: CloudConnect,
  ) {}

  /** A connection to the cloud the record says the host is registered with; the caller closes it. */
  connectCloud(): CloudRegistration {
    if (!this.cloud) throw new HostSetupError(`${this.record.name} is to be registered with OpenNebula, but provisioning was handed no cloud to register with`);
    return this.cloud({ env: this.env, ...(this.record.opennebula?.endpoint ? { endpoint: this.record.opennebula.endpoint } : {}) });
  }

  get engineSocket(): string {
    return this.record.engineSocket ?? DEFAULT_ENGINE_SOCKET;
  }

  get oneUser(): string {
    return this.record.oneUser ?? DEFAULT_ONE_USER;
  }

  get probeImage(): string {
    return this.record.probeImage ?? DEFAULT_PROBE_IMAGE;
  }

  get remotesDir(): string {
    return this.record.remotesDir ?? DEFAULT_REMOTES_DIR;
  }

  get sudoersFile(): string {
    return `/etc/sudoers.d/dockvisor-${this.oneUser.replace(/\./g, '_')}`;
  }

  /** The users who must reach the engine socket: OpenNebula's, and the SSH user when it is not root. */
  get engineUsers(): string[] {
    const sshUser = this.session.target.user;
    return sshUser === 'root' || sshUser === this.oneUser ? [this.oneUser] : [this.oneUser, sshUser];
  }

  /** The host as one remote command finds it; looked at again after a step changed something. */
  facts(): Promise<HostSurvey> {
    this.looked ??= this.root(factsScript(this.engineSocket, this.engineUsers, this.sudoersFile, this.runtimeDir)).then(parseFacts);
    this.looked.catch(() => (this.looked = undefined));
    return this.looked;
  }

  forgetFacts(): void {
    this.looked = undefined;
  }

  /** Runs a root command on the host and returns its output; a failure names the command. */
  root(command: string, options: CommandOptions | string = {}): Promise<string> {
    return this.session.must(this.session.asRoot(command), typeof options === 'string' ? { stdin: options } : options);
  }

  /** The host's engine through one forwarded socket over SSH, as the driver's own remote calls reach it. */
  engine(): HostEngine {
    const { target, privateKey } = this.session;
    this.engineClient ??= engineOverSsh(target, { privateKey, agent: this.env.SSH_AUTH_SOCK }, this.engineSocket, this.session.hostKeySha256, 30_000);
    return this.engineClient;
  }

  /** Drops the engine connection (after group changes, a new SSH login sees the new groups). */
  async reconnectEngine(): Promise<void> {
    const client = this.engineClient;
    this.engineClient = undefined;
    await client?.close();
  }

  async close(): Promise<void> {
    await this.reconnectEngine();
    this.session.close();
  }
}
