import type { ContainerInspect, ContainerSummary } from '../engine/types.ts';
import { LABEL_FRONT_END, LABEL_VM_ID, type FrontEnd } from './labels.ts';

/** Which VM a verb on an existing VM means: the front-end that owns it, its id there, and its container's name. */
export interface VmRef {
  frontEnd: FrontEnd;
  vmId: string;
  /** Also the deploy id: one-<vid> or nova-<uuid>. */
  containerName: string;
}

/**
 * Where a VM's container is in its life: created and never started, running, paused (frozen in memory),
 * restarting, being removed, exited (stopped, by itself or from outside) or dead (the host could not stop it cleanly).
 */
export type VmPhase = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export type VmHealth = 'starting' | 'healthy' | 'unhealthy';

/** How a VM's last run ended, as a front-end reports it: why, and the last lines the VM wrote. */
export interface VmExit {
  exitCode: number;
  /** Killed by the kernel for want of memory (its cgroup's limit): see killedForMemory. */
  oomKilled: boolean;
  /** The engine's own reason when the VM could not even start; empty otherwise. */
  error: string;
  finishedAt: string;
  /** The last lines of its output (stdout and stderr as written), at most EXIT_OUTPUT_LINES. */
  lastLines: string[];
}

export const EXIT_OUTPUT_LINES = 5;

/** A VM as the core reports it to the front-ends; they never see the engine's own objects. */
export interface VmStatus {
  /** The container's name (the deploy id). */
  name: string;
  /** The VM id its labels record (empty when a container of ours lost it). */
  vmId: string;
  frontEnd: string;
  /** The engine's id of the container, which names its cgroups. */
  containerId: string;
  phase: VmPhase;
  /** Its processes run (paused ones too: they are frozen, not gone). */
  running: boolean;
  paused: boolean;
  /** The first process's pid on the host while it runs; 0 otherwise, and in lists (the engine lists no pids). */
  pid: number;
  /** The exit code of the last run (0 while running or never run). */
  exitCode: number;
  /** Why the last run ended when the engine says (a start failure, "its first process has exited"); empty otherwise. */
  exitReason: string;
  oomKilled: boolean;
  /** What the image's HEALTHCHECK last found, while the VM runs; undefined without one. */
  health?: VmHealth;
  /** ISO times of the last start and stop; empty when unknown (lists) or when it never happened. */
  startedAt: string;
  finishedAt: string;
  /** Every label of the container: dockvisor's and the front-end's own (VmSpec.frontEndLabels). */
  labels: Record<string, string>;
  /** The size of its writable layer (its root disk) in bytes, when listed with sizes. */
  diskBytes?: number;
}

/** What the engine of a host says about itself, in the words front-ends report. */
export interface HostEngineFacts {
  /** The engine's version (20.10.24). */
  version: string;
  /** Its storage driver (overlay2). */
  storageDriver: string;
  /** Where it keeps images, containers and volumes on the host. */
  dataRoot: string;
  /** The host's name, CPUs, memory in bytes and architecture as the engine sees them, when it says. */
  hostname?: string;
  cpus?: number;
  memoryBytes?: number;
  architecture?: string;
  /** The OCI runtimes a VM may run under, by the engine's names, its default first. */
  runtimes: string[];
}

const NEVER = '0001-01-01T00:00:00Z';

/** An inspected container as the core reports it. */
export function vmStatusOf(container: ContainerInspect): VmStatus {
  const labels = container.Config.Labels ?? {};
  const state = container.State;
  return {
    name: container.Name.replace(/^\//, ''),
    vmId: labels[LABEL_VM_ID] ?? '',
    frontEnd: labels[LABEL_FRONT_END] ?? '',
    containerId: container.Id,
    phase: state.Status,
    running: state.Running,
    paused: state.Paused,
    pid: state.Running ? state.Pid : 0,
    exitCode: state.ExitCode,
    exitReason: state.Error,
    oomKilled: killedForMemory(state),
    ...(state.Running && state.Health && state.Health.Status !== 'none' ? { health: state.Health.Status } : {}),
    startedAt: state.StartedAt === NEVER ? '' : state.StartedAt,
    finishedAt: state.FinishedAt === NEVER ? '' : state.FinishedAt,
    labels,
  };
}

/** A listed container as the core reports it: the listing has no pid or times, and gives the exit code only in its text. */
export function vmStatusFromSummary(container: ContainerSummary): VmStatus {
  const labels = container.Labels ?? {};
  const phase = container.State as VmPhase;
  return {
    name: container.Names[0]?.replace(/^\//, '') ?? '',
    vmId: labels[LABEL_VM_ID] ?? '',
    frontEnd: labels[LABEL_FRONT_END] ?? '',
    containerId: container.Id,
    phase,
    running: phase === 'running' || phase === 'paused' || phase === 'restarting',
    paused: phase === 'paused',
    pid: 0,
    exitCode: Number(/^Exited \((-?\d+)\)/.exec(container.Status)?.[1] ?? 0),
    exitReason: '',
    oomKilled: false,
    ...healthInSummary(container.Status),
    startedAt: '',
    finishedAt: '',
    labels,
    ...(container.SizeRw !== undefined ? { diskBytes: container.SizeRw } : {}),
  };
}

/**
 * The engine flags an OOM kill of any process of the container; the VM itself was killed for want of memory
 * only when its first process then died of SIGKILL (128 + 9, as its init passes it on).
 */
export function killedForMemory(state: Pick<ContainerInspect['State'], 'OOMKilled' | 'ExitCode' | 'Running'>): boolean {
  return state.OOMKilled && !state.Running && state.ExitCode === 137;
}

/** The listing gives the health only in its text: "Up 3 minutes (healthy)", "(health: starting)". */
function healthInSummary(status: string): { health?: VmHealth } {
  const found = /\((healthy|unhealthy|health: starting)\)\s*$/.exec(status)?.[1];
  if (!found) return {};
  return { health: found === 'health: starting' ? 'starting' : (found as VmHealth) };
}
