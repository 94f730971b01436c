import type { EngineClient } from '../engine/engine-client.ts';
import { VmNotFoundError } from './errors.ts';
import { LABEL_OWNER, LABEL_SNAPSHOT_OF, LABEL_VM_ID, OWNER_VALUE } from './labels.ts';
import type { VmLifecycle } from './vm-lifecycle.ts';
import type { VmSpec } from './vm-spec.ts';

/**
 * Saves the VM's filesystem as `repository:tag` and pushes it to the registry the repository names;
 * returns the image reference pinned by digest, what a host pulls to boot a VM from the snapshot.
 */
export async function publishSnapshot(
  engine: EngineClient,
  vms: VmLifecycle,
  spec: VmSpec,
  target: { repository: string; tag: string },
  pushTimeoutMs: number,
): Promise<string> {
  if (!(await vms.inspect(spec))) throw new VmNotFoundError(`VM ${spec.vmId}: container ${spec.containerName} does not exist on this host`);
  await engine.commitContainer(spec.containerName, target.repository, target.tag, {
    [LABEL_OWNER]: OWNER_VALUE,
    [LABEL_SNAPSHOT_OF]: spec.containerName,
    [LABEL_VM_ID]: spec.vmId,
  });
  const digest = await engine.pushImage(target.repository, target.tag, pushTimeoutMs);
  return `${target.repository}@${digest}`;
}
