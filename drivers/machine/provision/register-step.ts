import type { ProvisionStep } from './step.ts';

/** The host in OpenNebula with dockvisor's drivers: found when it is there already, never a duplicate. */
export const registerStep: ProvisionStep = {
  id: 'register',
  title: 'OpenNebula registration',
  async check(context) {
    const wanted = context.record.opennebula;
    if (!wanted) return { ok: true, detail: 'not registered (--no-register)' };
    if (context.record.oneHostId === undefined) return { ok: false, detail: `${wanted.hostName} is not registered yet` };
    const cloud = context.connectCloud();
    try {
      const host = await cloud.host(context.record.oneHostId);
      if (!host) return { ok: false, detail: `host ${context.record.oneHostId} is gone from OpenNebula` };
      return host.name === wanted.hostName && host.ourDrivers
        ? { ok: true, detail: `host ${host.id} (${host.name}), ${host.state}` }
        : { ok: false, detail: `OpenNebula host ${host.id} is now ${host.name} with ${host.drivers}` };
    } finally {
      cloud.close();
    }
  },
  async apply(context) {
    const wanted = context.record.opennebula!;
    const cloud = context.connectCloud();
    try {
      context.record.oneHostId = await cloud.register(wanted.hostName, wanted.clusterId);
    } finally {
      cloud.close();
    }
  },
};
