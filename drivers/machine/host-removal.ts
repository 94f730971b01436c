import { ownedContainerFilter } from '../core/labels.ts';
import { hostEngine } from '../hosts/host-engine.ts';
import { connectToHost } from '../hosts/host-connection.ts';
import type { HostStore } from '../hosts/host-store.ts';
import type { CloudConnect } from './cloud-registration.ts';
import { enginePurgePlan } from './package-plans.ts';
import { ProvisionContext } from './provision/context.ts';
import { osStep } from './provision/os-step.ts';
import { shellQuote } from '../hosts/shell-quote.ts';
import { HostSetupError, HostUnavailableError, VmConflictError } from '../core/errors.ts';

export interface RemoveOptions {
  purge: boolean;
  force: boolean;
  env?: NodeJS.ProcessEnv;
  /** How to reach the cloud a registered host is unregistered from. */
  cloud: CloudConnect;
  say: (line: string) => void;
}

/**
 * Unregisters the host from OpenNebula and forgets it. The engine and its containers stay unless `purge`,
 * which also removes the engine packages and dockvisor's sudo rule, and refuses while VMs exist unless `force`.
 */
export async function removeHost(store: HostStore, name: string, options: RemoveOptions): Promise<void> {
  const record = store.get(name);
  const env = options.env ?? process.env;
  if (options.purge) {
    const engine = hostEngine(record, 15_000, env);
    try {
      const vms = await engine.listContainers(ownedContainerFilter());
      if (vms.length > 0 && !options.force) {
        throw new VmConflictError(
          `${vms.length} dockvisor VM(s) exist on ${name} (${vms.map((vm) => vm.Names[0]?.replace(/^\//, '')).join(', ')}): --purge would destroy them; add --force to do it anyway`,
        );
      }
    } finally {
      await engine.close();
    }
    const session = await connectToHost(record);
    const context = new ProvisionContext(record, session, env);
    try {
      const os = await osStep.check(context);
      if (!os.ok) throw new HostSetupError(os.detail);
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
  store.remove(name);
  options.say(`${name}: removed from the host store${options.purge ? '' : ' (its engine and containers are untouched)'}`);
}
