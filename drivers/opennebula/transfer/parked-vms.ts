import { readFileSync, rmdirSync, rmSync, mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { writeFileAtomically } from '../../core/atomic-file.ts';
import { InvalidInputError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';
import type { HostPath } from './tm-args.ts';

/**
 * A VM that oned believes moved to the front-end (undeploy, stop) stays parked on its host: moving a container's
 * filesystem there and back would cost a push and a pull for nothing. A note in the VM's directory on the
 * front-end, where oned's own transfer drivers would have put its files, says which host keeps it.
 */
const NOTE = 'dockvisor-parked-on';

export function noteParked(frontEndPath: HostPath, vmId: number, host: string): void {
  const dir = vmDirectory(frontEndPath, vmId);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  writeFileAtomically(posix.join(dir, NOTE), `${host}\n`, 0o640);
}

/** The host that keeps the VM oned places at `frontEndPath`; undefined when dockvisor parked it nowhere. */
export function parkedOn(frontEndPath: HostPath, vmId: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(posix.join(vmDirectory(frontEndPath, vmId), NOTE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return check.hostname(text.trim(), `the host named in ${posix.join(vmDirectory(frontEndPath, vmId), NOTE)}`);
}

/** The VM is back on a host or gone: the note goes, and the directory with it when nothing else is in it. */
export function forgetParked(frontEndPath: HostPath, vmId: number): void {
  const dir = vmDirectory(frontEndPath, vmId);
  rmSync(posix.join(dir, NOTE), { force: true });
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or not there: left as it is
  }
}

/** The VM's directory in the system datastore (the path itself, or the directory of one of its disks). */
function vmDirectory(path: HostPath, vmId: number): string {
  const dir = posix.normalize(path.diskId === undefined ? path.path : posix.dirname(path.path)).replace(/\/$/, '');
  if (posix.basename(dir) !== String(vmId) || dir.split('/').includes('..')) {
    throw new InvalidInputError(`"${check.printable(path.path)}" is not the directory of VM ${vmId} (…/<vm id>)`);
  }
  return dir;
}
