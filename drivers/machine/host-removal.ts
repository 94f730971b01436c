import { ownedContainerFilter } from '../core/labels.ts';
import { hostEngine } from '../hosts/host-engine.ts';
import { connectToHost } from '../hosts/host-connection.ts';
import type { HostRecord, HostStore } from '../hosts/host-store.ts';
import type { CloudConnect } from './cloud-registration.ts';
import type { CloudVms, CloudVmsConnect } from './cloud-vms.ts';
import { hostKeyComment, hostPublicKey, removeHostKeyPair } from './host-key-pair.ts';
import { vmsHoldingHostKey } from './host-vm-lookup.ts';
import { enginePurgePlan } from './package-plans.ts';
import { ProvisionContext } from './provision/context.ts';
import { osStep } from './provision/os-step.ts';
import { agentPlan } from './provision/agent-step.ts';
import { agentStopScript } from './provision/agent-removal.ts';
import { shellQuote } from '../hosts/shell-quote.ts';
import { HostSetupError, HostUnavailableError, VmConflictError } from '../core/errors.ts';

export interface RemoveOptions {
  purge: boolean;
  force: boolean;
  env?: NodeJS.ProcessEnv;
  /** How to reach the cloud a registered host is unregistered from. */
  cloud: CloudConnect;
  /** How to reach the cloud a host made from a VM template is terminated in. */
  vms?: CloudVmsConnect;
  say: (line: string) => void;
}

/**
 * Unregisters the host from OpenNebula and forgets it. The engine and its containers stay unless `purge`,
 * which also stops and removes the action agent, removes the engine packages and dockvisor's sudo rule, and refuses while VMs exist unless `force`.
 * A host dockvisor made from a VM template goes with its VM: it is terminated (refused while dockvisor VMs
 * run on the host, unless `force`), and the key made for it removed.
 */
export async function removeHost(store: HostStore, name: string, options: RemoveOptions): Promise<void> {
  const record = store.get(name);
  const env = options.env ?? process.env;
  const terminating = record.vm?.id !== undefined;
  if (record.vm && !options.vms) throw new HostSetupError(`${name} was made from a VM template, but removal was handed no cloud to terminate its VM in`);
  if ((options.purge || terminating) && !options.force) await refuseWhileVmsExist(record, env, options.purge ? '--purge' : `terminating VM ${record.vm?.id}`);
  if (options.purge && !terminating) {
    const session = await connectToHost(record);
    const context = new ProvisionContext(record, session, env);
    try {
      const os = await osStep.check(context);
      if (!os.ok) throw new HostSetupError(os.detail);
      for (const line of (await context.root(agentStopScript(agentPlan(context)))).split('\n').filter(Boolean))
        options.say(`${name}: action agent ${line === 'unit' ? 'unit stopped and removed' : `${line} asked to stop`}`);
      await context.root(`rm -f ${shellQuote(context.sudoersFile)}`);
      for (const command of enginePurgePlan(context.os!.family)) await context.root(command);
      options.say(`${name}: engine packages purged`);
    } finally {
      await context.close();
    }
  }
  if (record.opennebula && record.oneHostId !== undefined) {
    const cloud = options.cloud({ env, ...(record.opennebula.endpoint ? { endpoint: record.opennebula.endpoint } : {}) });
    try {
      await cloud.unregister(record.oneHostId);
      options.say(`${name}: OpenNebula host ${record.oneHostId} removed`);
    } catch (error) {
      if (!options.force)
        throw new HostUnavailableError(`cannot unregister ${name} from OpenNebula (${(error as Error).message}); --force forgets the host anyway`);
      options.say(`${name}: OpenNebula host ${record.oneHostId} left registered: ${(error as Error).message}`);
    } finally {
      cloud.close();
    }
  }
  if (record.vm) {
    const cloud = options.vms!({ env, ...(record.vm.endpoint ? { endpoint: record.vm.endpoint } : {}) });
    try {
      for (const id of await vmsOf(record, cloud, options.say)) {
        await cloud.terminate(id);
        options.say(`${name}: VM ${id} terminated`);
      }
    } finally {
      cloud.close();
    }
    if (record.ssh.identityFile) removeHostKeyPair(record.ssh.identityFile);
  }
  store.remove(name);
  const kept = options.purge || record.vm ? '' : ' (its engine and containers are untouched)';
  options.say(`${name}: removed from the host store${kept}`);
}

/**
 * The VM of a host made from a template: the recorded one, or, for a create cut short before oned gave its id,
 * the VM of the host's name whose context holds the host's key.
 */
async function vmsOf(record: HostRecord, cloud: CloudVms, say: (line: string) => void): Promise<number[]> {
  if (record.vm!.id !== undefined) return [record.vm!.id];
  const key = record.ssh.identityFile ? hostPublicKey(record.ssh.identityFile, hostKeyComment(record.name)) : undefined;
  if (!key) return [];
  return vmsHoldingHostKey(cloud, record.name, key, (line) => say(`${record.name}: ${line}`));
}

/** Refuses while dockvisor VMs exist on the host; a host whose engine was never set up has none. */
async function refuseWhileVmsExist(record: HostRecord, env: NodeJS.ProcessEnv, doing: string): Promise<void> {
  if (record.vm && !record.steps['engine-probe']?.done) return;
  const engine = hostEngine(record, 15_000, env);
  try {
    let vms;
    try {
      vms = await engine.listContainers(ownedContainerFilter());
    } catch (error) {
      if (!record.vm) throw error;
      throw new HostUnavailableError(`cannot tell whether dockvisor VMs run on ${record.name} (${(error as Error).message}); --force goes ahead with ${doing}`);
    }
    if (vms.length > 0) {
      throw new VmConflictError(
        `${vms.length} dockvisor VM(s) exist on ${record.name} (${vms.map((vm) => vm.Names[0]?.replace(/^\//, '')).join(', ')}): ${doing} would destroy them; add --force to do it anyway`,
      );
    }
  } finally {
    await engine.close();
  }
}
