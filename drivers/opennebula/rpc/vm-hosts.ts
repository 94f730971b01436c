import type { CloudVmsConnect } from '../../machine/cloud-vms.ts';
import { instantiateTemplateText } from './instantiate-template-text.ts';
import { oneEndpoint } from './one-credentials.ts';
import { OneRpc } from './one-rpc.ts';
import { findNetwork, findTemplate, instantiateTemplate, terminateVm, vmInfo, vmsNamed } from './vms.ts';

/** VMs that become dockvisor hosts, over oned's XML-RPC API: each call bounded by 15 s. */
export const connectOpenNebulaVms: CloudVmsConnect = (at) => {
  const rpc = new OneRpc(oneEndpoint(at.endpoint ? { url: at.endpoint } : {}, at.env), 15_000);
  return {
    template: async (nameOrId) => {
      const { id, name } = await findTemplate(rpc, nameOrId);
      return { id, name };
    },
    network: (nameOrId) => findNetwork(rpc, nameOrId),
    async instantiate(templateId, vmName, request) {
      const template = await findTemplate(rpc, String(templateId));
      return instantiateTemplate(rpc, templateId, vmName, instantiateTemplateText(template.context, request));
    },
    vm: (id) => vmInfo(rpc, id),
    vmsNamed: (name) => vmsNamed(rpc, name),
    terminate: (id) => terminateVm(rpc, id),
    close: () => rpc.close(),
  };
};
