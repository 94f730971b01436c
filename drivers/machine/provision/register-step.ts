import { oneEndpoint } from '../../opennebula/rpc/one-credentials.ts';
import { OneRpcError } from '../../opennebula/rpc/one-errors.ts';
import { OneRpc } from '../../opennebula/rpc/one-rpc.ts';
import { hostInfo, registerHost } from '../../opennebula/rpc/hosts.ts';
import type { ProvisionStep } from './step.ts';

export function oneRpcFor(env: NodeJS.ProcessEnv, endpoint?: string): OneRpc {
  return new OneRpc(oneEndpoint(endpoint ? { url: endpoint } : {}, env), 15_000);
}

/** The host in OpenNebula with dockvisor's drivers: found when it is there already, never a duplicate. */
export const registerStep: ProvisionStep = {
  id: 'register',
  title: 'OpenNebula registration',
  async check(context) {
    const wanted = context.record.opennebula;
    if (!wanted) return { ok: true, detail: 'not registered (--no-register)' };
    if (context.record.oneHostId === undefined) return { ok: false, detail: `${wanted.hostName} is not registered yet` };
    const rpc = oneRpcFor(context.env, wanted.endpoint);
    try {
      const host = await hostInfo(rpc, context.record.oneHostId);
      const ours = host.name === wanted.hostName && host.imMad === 'dockvisor' && host.vmMad === 'dockvisor';
      return ours
        ? { ok: true, detail: `host ${host.id} (${host.name}), ${host.state}` }
        : { ok: false, detail: `OpenNebula host ${host.id} is now ${host.name} with ${host.imMad}/${host.vmMad}` };
    } catch (error) {
      if (error instanceof OneRpcError && error.kind === 'not-found') return { ok: false, detail: `host ${context.record.oneHostId} is gone from OpenNebula` };
      throw error;
    } finally {
      rpc.close();
    }
  },
  async apply(context) {
    const wanted = context.record.opennebula!;
    const rpc = oneRpcFor(context.env, wanted.endpoint);
    try {
      const { host } = await registerHost(rpc, wanted.hostName, wanted.clusterId);
      context.record.oneHostId = host.id;
    } finally {
      rpc.close();
    }
  },
};
