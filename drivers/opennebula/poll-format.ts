import { join } from 'node:path';
import type { HostServices } from '../core/host-services.ts';
import { prepareUserStateDir } from '../core/state-dir.ts';
import type { VmSpec } from '../core/vm-spec.ts';
import { CgroupLayout } from '../monitoring/cgroup-layout.ts';
import { guestStateOf } from '../monitoring/guest-states.ts';
import { sampleGuestUsage } from '../monitoring/guest-usage.ts';
import { pollString } from './monitor/probe-format.ts';

/** The OpenNebula 5.x poll line of one VM, read from its cgroups like the probes do. */
export async function pollLine(host: HostServices, spec: VmSpec): Promise<string> {
  const vm = await host.vms.status(spec);
  const state = vm && guestStateOf(vm);
  if (!vm || !state) return 'STATE=d';
  const status = { vmId: spec.vmId, name: spec.containerName, state };
  if (state !== 'running' && state !== 'suspended') return pollString(status, undefined);
  const guest = { vmId: spec.vmId, name: spec.containerName, containerId: vm.containerId };
  const { usage } = await sampleGuestUsage([guest], new CgroupLayout(), join(prepareUserStateDir(host.config), `poll-${spec.containerName}.json`));
  return pollString(status, usage[0]);
}
