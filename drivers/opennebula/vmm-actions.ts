import { BridgeMissingError, InvalidInputError, NotSupportedError } from '../core/errors.ts';
import { checkFitsHost } from '../core/host-capacity.ts';
import { printable } from '../core/validate.ts';
import type { HostSettings } from '../core/host-settings.ts';
import type { HostServices } from '../core/host-services.ts';
import type { VmLifecycle } from '../core/vm-lifecycle.ts';
import type { NicSpec } from '../core/vm-spec.ts';
import { parseActionData } from './action-data.ts';
import { frontEndIdentityLabels } from './front-end-identity.ts';
import { LcmState, stopRemovesContainer } from './lcm-state.ts';
import { pollLine } from './poll-format.ts';
import { parseVmDocument, readNic, type OneVm } from './vm-document.ts';
import { text } from './xml.ts';
import { splitWords } from './words-without-shell.ts';
import { startCommandWatcher } from './command-watcher.ts';
import { attachedDisk } from './disk-attach.ts';

/** Where an action runs from: the VMM bundle and environment `exec` starts its command's watcher with. */
export interface VmmRun {
  readonly bundle?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** One VMM action: OpenNebula's argv (after the action name) and stdin in, the documented stdout out. */
export type VmmAction = (argv: string[], stdin: string, host: HostServices, run?: VmmRun) => Promise<string>;

/**
 * The actions as OpenNebula calls them (see remotes/vmm/dockvisor). Every argv ends with `<vm id> <host>`;
 * the container is always found from the VM id, so a deploy id from an older driver still works.
 */
export const vmmActions: Record<string, VmmAction> = withOpenNebulaAdvice({
  async deploy(argv, stdin, { vms, access, config }) {
    const vm = vmFor(argv, parseVmDocument(stdin), config);
    await checkFitsHost(vm.spec, access);
    await vms.deploy(vm.spec);
    return vm.spec.containerName;
  },

  shutdown: onVm((vms, vm) => vms.shutdown(vm.spec, keepsContainer(vm))),
  cancel: onVm((vms, vm) => vms.cancel(vm.spec, keepsContainer(vm))),
  cleanup: onVm((vms, vm) => vms.destroy(vm.spec)),
  reboot: onVm((vms, vm) => vms.reboot(vm.spec)),
  reset: onVm((vms, vm) => vms.reset(vm.spec)),
  save: onVm((vms, vm) => vms.suspend(vm.spec)),
  // Back from `onevm stop` the VM may have moved to another host through the registry: deploy makes it there.
  restore: onVm((vms, vm) => (vm.lcmState === LcmState.BOOT_STOPPED ? vms.deploy(vm.spec) : vms.resume(vm.spec))),

  async resize(argv, stdin, { vms, access, config }) {
    const vm = actionVm(argv, stdin, config);
    await checkFitsHost(vm.spec, access);
    await vms.resize(vm.spec);
    return '';
  },

  async snapshot_create(argv, stdin, { vms, config }) {
    const snapshotId = argv[1] ?? '';
    if (!/^[0-9]{1,9}$/.test(snapshotId)) throw new InvalidInputError(`snapshot id "${printable(snapshotId)}" is not a number`);
    return vms.snapshotCreate(actionVm(argv, stdin, config).spec, snapshotId);
  },

  snapshot_revert: onVm((vms, vm, argv) => vms.snapshotRevert(vm.spec, argv[1] ?? '')),
  snapshot_delete: onVm((vms, vm, argv) => vms.snapshotDelete(vm.spec, argv[1] ?? '')),

  async attach_nic(argv, stdin, { vms, config }) {
    const vm = actionVm(argv, stdin, config);
    const nic = nicByMac(vm, argv[1] ?? '');
    const [, , bridge, , , target] = argv;
    if (bridge !== nic.bridge || (target && target !== nic.hostInterface)) {
      throw new InvalidInputError(`VM ${vm.id}: attach_nic arguments do not match the NIC in the VM template`);
    }
    await vms.attachNic(vm.spec, nic);
    return '';
  },

  async detach_nic(argv, stdin, { vms, config }) {
    const vm = actionVm(argv, stdin, config);
    await vms.detachNic(vm.spec, nicByMac(vm, argv[1] ?? ''));
    return '';
  },

  async attach_disk(argv, stdin, { vms, config }) {
    const vm = actionVm(argv, stdin, config);
    await vms.attachDisk(vm.spec, attachedDisk(vm, argv, stdin));
    return '';
  },

  async detach_disk(argv, stdin, { vms, config }) {
    const vm = actionVm(argv, stdin, config);
    await vms.detachDisk(vm.spec, attachedDisk(vm, argv, stdin));
    return '';
  },

  async prereconfigure(argv, stdin, { vms, config }) {
    const vm = actionVm(argv, stdin, config);
    if ((await vms.powerState(vm.spec)) === 'missing')
      throw new InvalidInputError(`VM ${vm.id}: container ${vm.spec.containerName} does not exist on this host`);
    return '';
  },

  reconfigure: onVm((vms, vm) => vms.reconfigure(vm.spec)),

  async exec(argv, stdin, { commands, config }, run) {
    const [vmIdText = '', , command = '', input] = argv;
    const vm = parseActionData(stdin).vm;
    if (vmIdText !== String(vm.id)) throw new InvalidInputError(`VM id ${printable(vmIdText)} on the command line does not match VM ${vm.id} on stdin`);
    const words = splitWords(command, 'the command');
    await commands.start(vmFor([vmIdText, ''], vm, config).spec, words, input ? Buffer.from(input, 'base64') : undefined, (name) =>
      startCommandWatcher(name, run?.bundle, run?.env),
    );
    return '';
  },

  async exec_cancel(argv, stdin, { commands, config }) {
    await commands.cancel(actionVm(argv, stdin, config).spec);
    return '';
  },

  async poll(argv, stdin, host) {
    return pollLine(host, actionVm(argv, stdin, host.config).spec);
  },
});

/** A missing bridge is most often a virtual network whose driver makes no Linux bridge: the error says so. */
function withOpenNebulaAdvice(actions: Record<string, VmmAction>): Record<string, VmmAction> {
  const advised = async (action: VmmAction, argv: string[], stdin: string, host: HostServices, run?: VmmRun) => {
    try {
      return await action(argv, stdin, host, run);
    } catch (error) {
      if (!(error instanceof BridgeMissingError)) throw error;
      throw new BridgeMissingError(error.nicId, error.bridge, error.hostName, 'create it, or use a virtual network with VN_MAD=bridge');
    }
  };
  return Object.fromEntries(Object.entries(actions).map(([name, action]) => [name, (argv, stdin, host, run) => advised(action, argv, stdin, host, run)]));
}

/** An action whose whole job is one verb on the VM of the action data, with nothing to print. */
function onVm(verb: (vms: VmLifecycle, vm: OneVm, argv: string[]) => Promise<unknown>): VmmAction {
  return async (argv, stdin, { vms, config }) => {
    await verb(vms, actionVm(argv, stdin, config), argv);
    return '';
  };
}

/** Poweroff and undeploy keep the stopped container; so does a terminate when the transfer actions remove it later. */
function keepsContainer(vm: OneVm): boolean {
  return !stopRemovesContainer(vm.lcmState) || vm.transferOwnsContainer;
}

export function unsupported(action: string): never {
  throw new NotSupportedError(`${action}: not supported by dockvisor`);
}

function actionVm(argv: string[], stdin: string, config: HostSettings): OneVm {
  return vmFor(argv, parseActionData(stdin).vm, config);
}

/**
 * The VM id oned appends to argv (checked by checkActionArgv) must be the document's. Every action's VM carries
 * the front-end's identity, so that a container any of them makes again (deploy, a snapshot revert) is labelled
 * as deploy labels it.
 */
function vmFor(argv: string[], vm: OneVm, config: HostSettings): OneVm {
  const argvId = argv[argv.length - 2] ?? '';
  if (argvId !== String(vm.id)) {
    throw new InvalidInputError(`VM id ${printable(argvId)} on the command line does not match VM ${vm.id} on stdin`);
  }
  return { ...vm, spec: { ...vm.spec, frontEndLabels: { ...vm.spec.frontEndLabels, ...frontEndIdentityLabels(config) } } };
}

function nicByMac(vm: OneVm, mac: string): NicSpec {
  const wanted = mac.toLowerCase();
  const candidates = vm.nicNodes.filter((node) => text(node, 'MAC')?.toLowerCase() === wanted);
  const node = candidates.find((n) => text(n, 'ATTACH') === 'YES') ?? candidates[0];
  if (!node) {
    // oned attaches and detaches an alias through the network driver and reconfigure, never through these actions.
    if (vm.aliasMacs.has(wanted)) throw new InvalidInputError(`VM ${vm.id}: MAC "${printable(mac)}" is a NIC_ALIAS's; aliases change through reconfigure`);
    throw new InvalidInputError(`VM ${vm.id}: no NIC with MAC "${printable(mac)}" in the VM template`);
  }
  const nic = readNic(node, vm.id, vm.context);
  return vm.spec.nics.find((withAliases) => withAliases.nicId === nic.nicId) ?? nic;
}
