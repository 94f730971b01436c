import { resolve } from 'node:path';
import { HostSetupError, InvalidInputError } from '../core/errors.ts';
import type { HostRecord, HostStore } from '../hosts/host-store.ts';
import type { CloudConnect } from './cloud-registration.ts';
import { ProvisionContext } from './provision/context.ts';
import type { ProvisionProgress } from './provision/progress.ts';
import type { ProvisionStep } from './provision/step.ts';
import { PROVISION_STEPS } from './provision/steps.ts';
import { type ConnectOptions, sshOptions } from '../hosts/host-connection.ts';
import { SshSession } from '../hosts/ssh-session.ts';
import { parseSshTarget } from '../hosts/ssh-target.ts';

export interface CreateOptions {
  ssh: string;
  identityFile?: string;
  engineSocket?: string;
  oneUser?: string;
  probeImage?: string;
  remotesDir?: string;
  /** false: do not register with OpenNebula. */
  register: false | { endpoint?: string; clusterId: number; hostName?: string };
}

export interface ProvisionSummary {
  steps: number;
  changes: number;
  elapsedMs: number;
}

export class ProvisionError extends HostSetupError {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

const ONE_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Settings that end up in commands run on the host or in OpenNebula: refused unless plainly what they claim to be. */
export function checkHostSettings(settings: {
  oneUser?: unknown;
  engineSocket?: unknown;
  probeImage?: unknown;
  remotesDir?: unknown;
  oneHostId?: unknown;
  clusterId?: unknown;
}): void {
  const { oneUser, engineSocket, probeImage, remotesDir, oneHostId, clusterId } = settings;
  if (oneUser !== undefined && (typeof oneUser !== 'string' || !ONE_USER.test(oneUser)))
    throw new InvalidInputError(`--one-user "${String(oneUser).slice(0, 40)}" is not a user name`);
  if (engineSocket !== undefined && (typeof engineSocket !== 'string' || !/^\/[A-Za-z0-9._/-]{1,200}$/.test(engineSocket)))
    throw new InvalidInputError('--engine-socket must be an absolute path');
  if (probeImage !== undefined && (typeof probeImage !== 'string' || !/^[a-z0-9][a-z0-9._/:@-]{0,254}$/.test(probeImage)))
    throw new InvalidInputError('--probe-image is not an image reference');
  if (remotesDir !== undefined && (typeof remotesDir !== 'string' || !/^\/[A-Za-z0-9._/-]{1,200}$/.test(remotesDir) || remotesDir.split('/').includes('..')))
    throw new InvalidInputError('--remotes-dir must be an absolute path');
  if (oneHostId !== undefined && !Number.isInteger(oneHostId)) throw new InvalidInputError('the OpenNebula host id is not an integer');
  if (clusterId !== undefined && !(Number.isInteger(clusterId) && (clusterId as number) >= -1 && (clusterId as number) <= 2 ** 31)) {
    throw new InvalidInputError(`--cluster ${String(clusterId).slice(0, 40)} is not an OpenNebula cluster id (a whole number from 0, or -1 for none)`);
  }
}

/** Records a new host (before touching it, so a failure leaves something to resume) and provisions it. */
export async function createHost(
  store: HostStore,
  name: string,
  options: CreateOptions,
  connect: ConnectOptions,
  progress: ProvisionProgress,
  cloud?: CloudConnect,
): Promise<ProvisionSummary> {
  if (store.find(name)) throw new InvalidInputError(`host ${name} exists already: \`dockvisor host provision ${name}\` runs its steps again`);
  const target = parseSshTarget(options.ssh);
  checkHostSettings({ ...options, ...(options.register ? { clusterId: options.register.clusterId } : {}) });
  const now = new Date().toISOString();
  const record: HostRecord = {
    name,
    ssh: { user: target.user, address: target.address, port: target.port, ...(options.identityFile ? { identityFile: resolve(options.identityFile) } : {}) },
    steps: {},
    ...(options.engineSocket ? { engineSocket: options.engineSocket } : {}),
    ...(options.oneUser ? { oneUser: options.oneUser } : {}),
    ...(options.probeImage ? { probeImage: options.probeImage } : {}),
    ...(options.remotesDir ? { remotesDir: options.remotesDir } : {}),
    opennebula: options.register
      ? {
          ...(options.register.endpoint ? { endpoint: options.register.endpoint } : {}),
          clusterId: options.register.clusterId,
          hostName: options.register.hostName ?? target.address,
        }
      : null,
    createdAt: now,
    updatedAt: now,
  };
  store.save(record);
  return provisionHost(store, name, connect, progress, cloud);
}

/**
 * Runs every step again: each checks first and changes only what is not right. `cloud` registers the host
 * when its record asks for a registration.
 */
export async function provisionHost(
  store: HostStore,
  name: string,
  connect: ConnectOptions,
  progress: ProvisionProgress,
  cloud?: CloudConnect,
  steps = PROVISION_STEPS,
): Promise<ProvisionSummary> {
  const started = Date.now();
  let record = store.get(name);
  const resumeHint = `resume with: dockvisor host provision ${name}`;
  progress.started('SSH connection');
  let session: SshSession;
  try {
    session = await SshSession.connect({ user: record.ssh.user, address: record.ssh.address, port: record.ssh.port }, sshOptions(record, connect));
  } catch (error) {
    const reason = (error as Error).message;
    progress.failed('SSH connection', reason);
    record.steps.ssh = { done: false, at: new Date().toISOString(), detail: reason };
    store.save(record);
    throw new ProvisionError('ssh', `step "ssh" failed: ${reason}; ${resumeHint}`);
  }
  const firstKey = !record.ssh.hostKey;
  record.ssh.hostKey = session.hostKeyLine;
  const sshDetail = `${session.target.user}@${session.target.address}:${session.target.port}, host key SHA256:${session.hostKeySha256}`;
  record.steps.ssh = { done: true, at: new Date().toISOString(), detail: sshDetail, changed: firstKey };
  record = store.save(record);
  progress.finished('SSH connection', sshDetail, firstKey);

  const context = new ProvisionContext(record, session, connect.env, undefined, cloud);
  let changes = firstKey ? 1 : 0;
  try {
    for (const step of steps) {
      const changed = await runStep(step, context, progress, resumeHint);
      if (changed) changes += 1;
      record = store.save(context.record);
    }
  } catch (error) {
    store.save(context.record);
    throw error;
  } finally {
    await context.close();
  }
  return { steps: steps.length + 1, changes, elapsedMs: Date.now() - started };
}

async function runStep(step: ProvisionStep, context: ProvisionContext, progress: ProvisionProgress, resumeHint: string): Promise<boolean> {
  const mark = (done: boolean, detail: string, changed = false) => {
    context.record.steps[step.id] = { done, at: new Date().toISOString(), detail, changed };
  };
  progress.started(step.title);
  try {
    const before = await step.check(context);
    if (before.ok) {
      mark(true, before.detail);
      progress.finished(step.title, before.detail, false);
      return false;
    }
    if (!step.apply) throw new HostSetupError(before.detail);
    await step.apply(context);
    context.forgetFacts();
    const after = await step.check(context);
    if (!after.ok) throw new HostSetupError(`still not right after the change: ${after.detail}`);
    mark(true, after.detail, true);
    progress.finished(step.title, after.detail, true);
    return true;
  } catch (error) {
    const reason = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    mark(false, reason);
    progress.failed(step.title, reason);
    throw new ProvisionError(step.id, `step "${step.id}" failed: ${reason}; ${resumeHint}`);
  }
}
