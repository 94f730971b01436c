import { InvalidInputError } from '../../core/errors.ts';
import { printable } from '../../core/validate.ts';
import type { CloudVm } from '../../machine/cloud-vms.ts';
import { child, children, parseDocument, text, type XmlNode } from '../xml.ts';
import { OneRpcError } from './one-errors.ts';
import type { OneRpc } from './one-rpc.ts';
import { nicAddress } from './vm-address.ts';

/** VM states as oned numbers them (include/VirtualMachine.h: VmState). */
const VM_STATES = ['INIT', 'PENDING', 'HOLD', 'ACTIVE', 'STOPPED', 'SUSPENDED', 'DONE', 'FAILED', 'POWEROFF', 'UNDEPLOYED', 'CLONING', 'CLONING_FAILURE'];
const ACTIVE = 3;
const DONE = 6;
/** LCM states of an ACTIVE VM (include/VirtualMachine.h: LcmState) that a new VM passes through or stops in. */
const LCM_STATES: Record<number, string> = { 0: 'LCM_INIT', 1: 'PROLOG', 2: 'BOOT', 3: 'RUNNING', 16: 'UNKNOWN', 19: 'BOOT_UNKNOWN' };
const LCM_RUNNING = 3;
/** The LCM states a VM stops in when its prolog, boot or epilog failed (BOOT_FAILURE 36 to PROLOG_UNDEPLOY_FAILURE 50). */
const LCM_FAILURES: Record<number, string> = {
  36: 'BOOT_FAILURE',
  37: 'BOOT_MIGRATE_FAILURE',
  38: 'PROLOG_MIGRATE_FAILURE',
  39: 'PROLOG_FAILURE',
  40: 'EPILOG_FAILURE',
  41: 'EPILOG_STOP_FAILURE',
  42: 'EPILOG_UNDEPLOY_FAILURE',
  44: 'PROLOG_MIGRATE_POWEROFF_FAILURE',
  46: 'PROLOG_MIGRATE_SUSPEND_FAILURE',
  47: 'BOOT_UNDEPLOY_FAILURE',
  48: 'BOOT_STOPPED_FAILURE',
  49: 'PROLOG_RESUME_FAILURE',
  50: 'PROLOG_UNDEPLOY_FAILURE',
};

/** A VM as oned describes it, in the terms provisioning uses. */
export type OneVm = CloudVm;

export interface OneTemplate {
  id: number;
  name: string;
  /** The template's own CONTEXT attributes, in order: an instantiate that sends a CONTEXT replaces the template's. */
  context: Array<[string, string]>;
}

/** `one.vmpool.info`'s filter for the VMs the session user owns (-2 is all, -1 the user's and the groups'). */
const OWN_VMS = -3;

/** Pools come from oned, not from a user; they can be large on a busy front-end. */
const MAX_POOL_BYTES = 256 * 1024 * 1024;

/** A template by id or name (as OpenNebula's CLI takes it); a missing one is refused with one line. */
export async function findTemplate(rpc: OneRpc, nameOrId: string): Promise<OneTemplate> {
  if (/^\d{1,10}$/.test(nameOrId)) {
    try {
      return readTemplate(parseDocument(await rpc.call<string>('one.template.info', Number(nameOrId), false, false), 'VMTEMPLATE'));
    } catch (error) {
      if (error instanceof OneRpcError && error.kind === 'not-found') throw new InvalidInputError(`OpenNebula has no VM template ${nameOrId}`);
      throw error;
    }
  }
  const pool = parseDocument(await rpc.call<string>('one.templatepool.info', -2, -1, -1), 'VMTEMPLATE_POOL', MAX_POOL_BYTES);
  const named = children(pool, 'VMTEMPLATE').filter((template) => text(template, 'NAME') === nameOrId);
  if (named.length === 0) throw new InvalidInputError(`OpenNebula has no VM template named "${printable(nameOrId)}"`);
  if (named.length > 1) {
    const ids = named.map((template) => text(template, 'ID')).join(', ');
    throw new InvalidInputError(`several VM templates are named "${printable(nameOrId)}" (ids ${ids}): give the id`);
  }
  return readTemplate(named[0]!);
}

/** A virtual network by id or name: its id, which is what goes into the VM's NIC. */
export async function findNetwork(rpc: OneRpc, nameOrId: string): Promise<{ id: number; name: string }> {
  const pool = parseDocument(await rpc.call<string>('one.vnpool.info', -2, -1, -1), 'VNET_POOL', MAX_POOL_BYTES);
  const vnets = children(pool, 'VNET').map((vnet) => ({ id: Number(text(vnet, 'ID')), name: text(vnet, 'NAME') ?? '' }));
  const byId = /^\d{1,10}$/.test(nameOrId) ? vnets.filter((vnet) => vnet.id === Number(nameOrId)) : [];
  const found = byId.length ? byId : vnets.filter((vnet) => vnet.name === nameOrId);
  if (found.length === 0) throw new InvalidInputError(`OpenNebula has no virtual network "${printable(nameOrId)}"`);
  if (found.length > 1)
    throw new InvalidInputError(`several virtual networks are named "${printable(nameOrId)}" (ids ${found.map((v) => v.id).join(', ')}): give the id`);
  return found[0]!;
}

/** `one.template.instantiate(id, name, hold=false, extra template, persistent=false)`: the new VM's id. */
export async function instantiateTemplate(rpc: OneRpc, templateId: number, vmName: string, extraTemplate: string): Promise<number> {
  try {
    return await rpc.call<number>('one.template.instantiate', templateId, vmName, false, extraTemplate, false);
  } catch (error) {
    if (!(error instanceof OneRpcError)) throw error;
    if (error.kind === 'not-found') throw new InvalidInputError(`OpenNebula has no VM template ${templateId}`);
    if (/limit of .* reached for .* quota/i.test(error.message)) throw new InvalidInputError(`OpenNebula quota exceeded: ${oneWords(error.message)}`);
    throw new InvalidInputError(`OpenNebula refused to instantiate template ${templateId}: ${oneWords(error.message)}`);
  }
}

/** The VM of that id; undefined when oned no longer has it. */
export async function vmInfo(rpc: OneRpc, id: number): Promise<OneVm | undefined> {
  try {
    return readVm(parseDocument(await rpc.call<string>('one.vm.info', id, false), 'VM'));
  } catch (error) {
    if (error instanceof OneRpcError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

/**
 * The session user's own VMs (not DONE) of that name: filter -3, never -2 (all VMs the session may see, every
 * user's for oneadmin). The pool listing may leave CONTEXT out: what a VM's context holds is read with `vmInfo`.
 */
export async function vmsNamed(rpc: OneRpc, name: string): Promise<OneVm[]> {
  const xml = await rpc.call<string>('one.vmpool.info', OWN_VMS, -1, -1, -1);
  if (/^\s*<VM_POOL\s*(\/>|>\s*<\/VM_POOL>)\s*$/.test(xml)) return [];
  return children(parseDocument(xml, 'VM_POOL', MAX_POOL_BYTES), 'VM')
    .filter((vm) => text(vm, 'NAME') === name)
    .map(readVm)
    .filter((vm) => !vm.done);
}

/** `one.vm.action("terminate-hard", id)`; a VM oned no longer has is fine. */
export async function terminateVm(rpc: OneRpc, id: number): Promise<void> {
  try {
    await rpc.call('one.vm.action', 'terminate-hard', id);
  } catch (error) {
    if (!(error instanceof OneRpcError && error.kind === 'not-found')) throw error;
  }
}

function readTemplate(node: XmlNode): OneTemplate {
  const context = child(child(node, 'TEMPLATE'), 'CONTEXT');
  return {
    id: Number(text(node, 'ID')),
    name: text(node, 'NAME') ?? '',
    context: Object.entries(context ?? {}).map(([key, value]) => {
      if (typeof value !== 'string') throw new InvalidInputError(`the template's CONTEXT/${printable(key)} is not a single value`);
      return [key, value];
    }),
  };
}

export function readVm(node: XmlNode): OneVm {
  const id = Number(text(node, 'ID'));
  const stateNumber = Number(text(node, 'STATE'));
  const lcm = Number(text(node, 'LCM_STATE'));
  const template = child(node, 'TEMPLATE');
  const context = child(template, 'CONTEXT');
  const vmState = VM_STATES[stateNumber] ?? `UNKNOWN(${stateNumber})`;
  const failedLcm = stateNumber === ACTIVE ? LCM_FAILURES[lcm] : undefined;
  const state = stateNumber === ACTIVE ? `ACTIVE/${failedLcm ?? LCM_STATES[lcm] ?? `LCM ${lcm}`}` : vmState;
  const error = text(child(node, 'USER_TEMPLATE'), 'ERROR');
  const failure = failedLcm || vmState === 'FAILED' || vmState === 'CLONING_FAILURE' ? oneWords(error ?? state) : undefined;
  const sshPublicKey = text(context, 'SSH_PUBLIC_KEY');
  return {
    id,
    name: text(node, 'NAME') ?? '',
    state,
    running: stateNumber === ACTIVE && lcm === LCM_RUNNING,
    done: stateNumber === DONE,
    ...(failure ? { failure } : {}),
    address: nicAddress(children(template, 'NIC')[0], context),
    ...(sshPublicKey ? { sshPublicKey } : {}),
  };
}

/** oned's text on one line, bounded: it may carry a driver's output. */
function oneWords(message: string): string {
  const flat = message
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}
