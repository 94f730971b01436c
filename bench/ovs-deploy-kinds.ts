import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { addPortsArgv } from '../drivers/core/ovs-switch.ts';
import { macFor } from '../test/helpers/vm-xml.ts';
import { deployExecutableKindFor, type DeployKind, type NicPlacement } from './deploy-kinds.ts';
import { removeLink, runWithInput } from './links.ts';
import type { RawEngine } from './raw-engine.ts';
import { BENCH_LABEL, BENCH_LABEL_VALUE, COMMAND, IMAGE, RAW_CONTAINER_PREFIX, RAW_HOST_PREFIX, RAW_PEER_PREFIX, VM_PREFIX_LENGTH } from './settings.ts';

/** The Open vSwitch bench bridge, on the userspace datapath as this machine needs it. */
export const OVS_BRIDGE = 'dvb-ovs0';

const vsctl = (...args: string[]) => execFileSync('ovs-vsctl', ['--timeout=20', ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

export function createOvsBridge(): void {
  removeOvsBridge();
  vsctl('add-br', OVS_BRIDGE, '--', 'set', 'Bridge', OVS_BRIDGE, 'datapath_type=netdev');
}

export function removeOvsBridge(): void {
  vsctl('--if-exists', 'del-br', OVS_BRIDGE);
}

const ovsNic: NicPlacement = {
  nic: (address) => ({ nicId: 0, bridge: OVS_BRIDGE, openvswitch: true, ip: address, mask: '255.255.255.0' }),
  check: async (_engine, _container, hostEnd) => checkPort(hostEnd),
  remove: removeVm,
};

/** The deploy executable with one NIC on the Open vSwitch bridge (BRIDGE_TYPE=openvswitch). */
export const ovsDeployExecutableKind = deployExecutableKindFor(ovsNic);
/** The same, handed to the action agent by its launcher. */
export const ovsAgentDeployKind = deployExecutableKindFor(ovsNic, 'agent');

/**
 * The same work from an already running process: engine create + start + inspect, the bridge's check, the
 * host's `ip -batch` (veth, marks, netns), the one ovs-vsctl transaction that adds and marks the port, the
 * guest's `ip -batch`, and the guest's checksum offload off (the userspace datapath needs it).
 */
export const ovsRawBaselineKind: DeployKind = {
  name: 'baseline',
  async deploy(ctx, n, address) {
    const container = `${RAW_CONTAINER_PREFIX}${n}`;
    const hostEnd = `${RAW_HOST_PREFIX}${n}`;
    const peer = `${RAW_PEER_PREFIX}${n}`;
    const owner = `dockvisor:bench:${n}`;
    const teardown = () => removeVm(ctx.engine, container, hostEnd);
    const path = `/containers/${encodeURIComponent(container)}`;
    const started = performance.now();
    const steps: Record<string, number> = {};
    let last = started;
    const step = (name: string) => {
      const now = performance.now();
      steps[name] = now - last;
      last = now;
    };
    try {
      await runWithInput(['ovs-vsctl', '--timeout=20', 'br-exists', OVS_BRIDGE], '');
      step('ovs-vsctl br-exists');
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
      const hostLines = [
        `link add ${hostEnd} type veth peer name ${peer}`,
        `link set ${hostEnd} alias ${owner}`,
        `link set ${hostEnd} up`,
        `link set ${peer} netns ${pid}`,
      ];
      await runWithInput(['ip', '-batch', '-'], hostLines.map((line) => `${line}\n`).join(''));
      step('command ip -batch -');
      await runWithInput(addPortsArgv(owner, [{ name: hostEnd, bridge: OVS_BRIDGE, spec: { vlanMode: 'trunk' } }]), '');
      step('command ovs-vsctl add-port');
      const guestLines = [
        'link set lo up',
        `link set ${peer} name eth0`,
        `link set eth0 address ${macFor(0xdb00 + n, 0)}`,
        `addr add ${address}/${VM_PREFIX_LENGTH} dev eth0`,
        'link set eth0 up',
      ];
      await runWithInput(['nsenter', `--target=${pid}`, '--net', 'ip', '-batch', '-'], guestLines.map((line) => `${line}\n`).join(''));
      step('command nsenter --target=<pid> --net ip -batch -');
      await runWithInput(['nsenter', `--target=${pid}`, '--net', 'ethtool', '-K', 'eth0', 'tx', 'off'], '');
      step('command nsenter --target=<pid> --net ethtool -K eth0 tx off');
      const ms = last - started;
      checkPort(hostEnd);
      return { ms, steps, teardown };
    } catch (error) {
      await teardown().catch(() => undefined);
      throw error;
    }
  },
};

function checkPort(hostEnd: string): void {
  if (vsctl('port-to-br', hostEnd).trim() !== OVS_BRIDGE) throw new Error(`${hostEnd} is not a port of ${OVS_BRIDGE} after its deploy`);
}

async function removeVm(engine: RawEngine, container: string, hostEnd: string): Promise<void> {
  await engine.removeContainer(container);
  vsctl('--if-exists', 'del-port', hostEnd);
  await removeLink(hostEnd);
}
