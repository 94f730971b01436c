import type { CloudAt, CloudConnect, CloudHost } from '../../machine/cloud-registration.ts';
import { oneEndpoint } from './one-credentials.ts';
import { OneRpcError } from './one-errors.ts';
import { OneRpc } from './one-rpc.ts';
import { hostInfo, hostPool, registerHost, unregisterHost, type OneHost } from './hosts.ts';

function cloudHost(host: OneHost): CloudHost {
  return {
    id: host.id,
    name: host.name,
    state: host.state,
    drivers: `${host.imMad}/${host.vmMad}`,
    ourDrivers: host.imMad === 'dockvisor' && host.vmMad === 'dockvisor',
  };
}

/** Host registration with OpenNebula over oned's XML-RPC API: provisioning's cloud. */
export const connectOpenNebula: CloudConnect = (at: CloudAt) => {
  const rpc = new OneRpc(oneEndpoint(at.endpoint ? { url: at.endpoint } : {}, at.env), 15_000);
  return {
    register: async (hostName, clusterId) => (await registerHost(rpc, hostName, clusterId)).host.id,
    async host(id) {
      try {
        return cloudHost(await hostInfo(rpc, id));
      } catch (error) {
        if (error instanceof OneRpcError && error.kind === 'not-found') return undefined;
        throw error;
      }
    },
    hosts: async () => (await hostPool(rpc)).map(cloudHost),
    unregister: (id) => unregisterHost(rpc, id),
    close: () => rpc.close(),
  };
};
