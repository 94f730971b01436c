import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { deployArgv, macFor, vmXml, type NicDraft } from '../test/helpers/vm-xml.ts';
import { childEnv, describeFailure, runTimed, type TimedRun } from './child-process.ts';
import { isBridgePort, removeLink, runWithInput } from './links.ts';
import type { RawEngine } from './raw-engine.ts';
import {
  BENCH_LABEL,
  BENCH_LABEL_VALUE,
  BRIDGE,
  COMMAND,
  deployExecutable,
  FIRST_VM_ID,
  IMAGE,
  RAW_CONTAINER_PREFIX,
  RAW_HOST_PREFIX,
  RAW_PEER_PREFIX,
  VM_PREFIX_LENGTH,
} from './settings.ts';

/** One VM brought up by one kind: how long it took, and how to take it down again (not timed). */
export interface Deployed {
  ms: number;
  /** The deploy executable's run, for the phase breakdown. */
  run?: TimedRun;
  /** The baseline's own steps (ms), in order. */
  steps?: Record<string, number>;
  teardown(): Promise<void>;
}

export interface KindContext {
  engine: RawEngine;
  configPath: string;
  timeoutMs: number;
  abort: AbortSignal;
  /** More environment for the deploy executable (the phase breakdown's instrumentation); none in timed rounds. */
  extraEnv?: Record<string, string>;
  /** The socket of the bench's action agent, for the kinds whose launcher hands the action to it. */
  agentSocket?: string;
}

/** A way of bringing up VM number `n` with guest address `address` on the bench bridge. */
export interface DeployKind {
  name: string;
  deploy(ctx: KindContext, n: number, address: string): Promise<Deployed>;
}

/** How one bench NIC is plugged: its draft in the VM document, the check after deploy, and the teardown. */
export interface NicPlacement {
  nic(address: string): NicDraft;
  check(engine: RawEngine, container: string, hostEnd: string): Promise<void>;
  remove(engine: RawEngine, container: string, hostEnd: string): Promise<void>;
}

/**
 * The driver end to end: remotes/vmm/dockvisor/deploy started as oned starts it, a <VM> document on stdin; with
 * `through` 'agent', its launcher hands the action to the bench's action agent instead of starting node.
 */
export function deployExecutableKindFor(placement: NicPlacement, through: 'node' | 'agent' = 'node'): DeployKind {
  return {
    name: through === 'agent' ? 'agent' : 'deploy',
    async deploy(ctx, n, address) {
      const vmId = FIRST_VM_ID + n;
      const container = `one-${vmId}`;
      const hostEnd = `one-${vmId}-0`;
      const xml = vmXml({ id: vmId, name: `bench-${n}`, nics: [placement.nic(address)] });
      const teardown = () => placement.remove(ctx.engine, container, hostEnd);
      const run = await runTimed(deployExecutable, deployArgv(vmId), {
        stdin: xml,
        env: childEnv({ DOCKVISOR_CONFIG: ctx.configPath, DOCKVISOR_AGENT_SOCKET: agentSocketFor(ctx, through), ...ctx.extraEnv }),
        timeoutMs: ctx.timeoutMs,
        abort: ctx.abort,
      });
      try {
        if (run.code !== 0) throw new Error(describeFailure(`deploy of VM ${vmId}`, run));
        if (run.stdout.trim() !== container) throw new Error(`deploy of VM ${vmId} printed "${run.stdout.trim().slice(0, 80)}", not ${container}`);
        await placement.check(ctx.engine, container, hostEnd);
      } catch (error) {
        await teardown().catch(() => undefined);
        throw error;
      }
      return { ms: run.ms, run, teardown };
    },
  };
}

/** The socket a launcher of `through` looks at: the bench's agent, or none (node runs the action). */
export function agentSocketFor(ctx: Pick<KindContext, 'agentSocket'>, through: 'node' | 'agent'): string {
  if (through === 'node') return '';
  if (!ctx.agentSocket) throw new Error('no action agent runs for this bench');
  return ctx.agentSocket;
}

const linuxBridgeNic: NicPlacement = {
  nic: (address) => ({ nicId: 0, bridge: BRIDGE, ip: address, mask: '255.255.255.0' }),
  check: checkPlugged,
  remove: removeVm,
};

/** The deploy executable with its NIC on the Linux bench bridge. */
export const deployExecutableKind = deployExecutableKindFor(linuxBridgeNic);
/** The same, handed to the action agent by its launcher. */
export const agentDeployKind = deployExecutableKindFor(linuxBridgeNic, 'agent');

/**
 * The same work done directly in this already-running process: engine create + start + inspect
 * (for the pid), then the driver's two `ip -batch` runs, on the host and inside the netns.
 */
export const rawBaselineKind: DeployKind = {
  name: 'baseline',
  async deploy(ctx, n, address) {
    const container = `${RAW_CONTAINER_PREFIX}${n}`;
    const hostEnd = `${RAW_HOST_PREFIX}${n}`;
    const peer = `${RAW_PEER_PREFIX}${n}`;
    const mac = macFor(0xdb00 + n, 0);
    const teardown = () => removeVm(ctx.engine, container, hostEnd);
    const path = `/containers/${encodeURIComponent(container)}`;
    if (ctx.abort.aborted) throw new Error('interrupted');
    const started = performance.now();
    const steps: Record<string, number> = {};
    let last = started;
    const step = (name: string) => {
      const now = performance.now();
      steps[name] = now - last;
      last = now;
    };
    try {
      await ctx.engine.expect('POST', `/containers/create?name=${encodeURIComponent(container)}`, [201], {
        Image: IMAGE,
        Cmd: COMMAND,
        Labels: { [BENCH_LABEL]: BENCH_LABEL_VALUE },
        HostConfig: { NetworkMode: 'none' },
      });
      step('engine create');
      await ctx.engine.expect('POST', `${path}/start`, [204]);
      step('engine start');
      const pid = (await ctx.engine.json<{ State: { Pid: number } }>('GET', `${path}/json`, [200])).State.Pid;
      step('engine inspect');
      await runWithInput(
        ['ip', '-batch', '-'],
        [`link add ${hostEnd} type veth peer name ${peer}`, `link set ${hostEnd} master ${BRIDGE}`, `link set ${hostEnd} up`, `link set ${peer} netns ${pid}`]
          .map((line) => `${line}\n`)
          .join(''),
      );
      step('command ip -batch -');
      await runWithInput(
        ['nsenter', `--target=${pid}`, '--net', 'ip', '-batch', '-'],
        ['link set lo up', `link set ${peer} name eth0`, `link set eth0 address ${mac}`, `addr add ${address}/${VM_PREFIX_LENGTH} dev eth0`, 'link set eth0 up']
          .map((line) => `${line}\n`)
          .join(''),
      );
      step('command nsenter --target=<pid> --net ip -batch -');
      const ms = last - started;
      await checkPlugged(ctx.engine, container, hostEnd);
      return { ms, steps, teardown };
    } catch (error) {
      await teardown().catch(() => undefined);
      throw error;
    }
  },
};

/** Both kinds must leave the same result: a running container with eth0 inside, its host end a port of the bridge. */
async function checkPlugged(engine: RawEngine, container: string, hostEnd: string): Promise<void> {
  const inspect = await engine.json<{ State: { Running: boolean; Pid: number } }>('GET', `/containers/${encodeURIComponent(container)}/json`, [200]);
  if (!inspect.State.Running) throw new Error(`${container} is not running after its deploy`);
  const inside = readFileSync(`/proc/${inspect.State.Pid}/net/dev`, 'utf8');
  if (!/^\s*eth0:/m.test(inside)) throw new Error(`${container} has no eth0 after its deploy`);
  if (!isBridgePort(BRIDGE, hostEnd)) throw new Error(`${hostEnd} is not a port of ${BRIDGE} after the deploy of ${container}`);
}

async function removeVm(engine: RawEngine, container: string, hostEnd: string): Promise<void> {
  await engine.removeContainer(container);
  await removeLink(hostEnd);
}
