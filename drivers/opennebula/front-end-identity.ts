import type { HostSettings } from '../core/host-settings.ts';
import { LABEL_ONE_FRONT_END_ID } from './one-labels.ts';
import type { VmStatus } from '../core/vm-status.ts';

/**
 * Which OpenNebula front-end a container belongs to, when several share a host (two installations, or one
 * and a test run): the host config's `frontEndId`, which the installer writes once into the front-end's
 * remotes and oned copies to every host with them, so deploy and the probes on a host read the same value.
 */
export function frontEndIdentityLabels(config: Pick<HostSettings, 'frontEndId'>): Record<string, string> {
  return config.frontEndId ? { [LABEL_ONE_FRONT_END_ID]: config.frontEndId } : {};
}

/** This front-end's containers: those it labelled, and those made before front-ends had an identity. */
export function isThisFrontEnds(vm: Pick<VmStatus, 'labels'>, config: Pick<HostSettings, 'frontEndId'>): boolean {
  const recorded = vm.labels[LABEL_ONE_FRONT_END_ID];
  return recorded === undefined || recorded === config.frontEndId;
}
