import { InvalidInputError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';

/** `<host>:<path>` as the transfer manager writes it, with the disk number when the path ends in disk.<i>. */
export interface HostPath {
  host: string;
  path: string;
  diskId?: number;
}

const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;

export function parseHostPath(value: string | undefined, what: string): HostPath {
  const text = value ?? '';
  const colon = text.indexOf(':');
  const host = text.slice(0, colon);
  const path = text.slice(colon + 1);
  if (colon <= 0 || !HOST.test(host) || !path.startsWith('/') || path.includes('\0')) {
    throw new InvalidInputError(`${what} "${check.printable(text)}" is not <host>:<absolute path>`);
  }
  const disk = /\/disk\.([0-9]{1,4})$/.exec(path);
  return { host, path, diskId: disk ? Number(disk[1]) : undefined };
}

export function requireDiskId(hostPath: HostPath, what: string): number {
  if (hostPath.diskId === undefined) throw new InvalidInputError(`${what} "${check.printable(hostPath.path)}" does not name a disk (…/disk.<n>)`);
  return hostPath.diskId;
}

export function vmIdArg(value: string | undefined): number {
  return check.nonNegativeInteger(value ?? '', 'VM id', 2 ** 31);
}
