import { realpathSync, statSync } from 'node:fs';
import { InvalidInputError } from '../core/errors.ts';
import { fileKind } from '../core/regular-file.ts';
import { printable } from '../core/validate.ts';
import { parseImageName, type ImageName } from './registry/image-name.ts';

/** Where an image to register comes from, as read from the image's PATH. */
export type ImagePath = { kind: 'registry'; name: ImageName } | { kind: 'file'; path: string } | { kind: 'url'; url: URL };

/**
 * Reads PATH: `docker://name` (also in the form the CLI makes of it, `/var/lib/one/docker://name`), an
 * http(s) URL, or an absolute path to a tarball on this machine.
 */
export function readImagePath(path: string): ImagePath {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(path)?.[1]?.toLowerCase();
  const mangled = /^\/(?:[^:]*\/)?docker:\/\/(.+)$/.exec(path);
  if (scheme === 'docker' || mangled) {
    const name = scheme === 'docker' ? path.slice('docker://'.length) : mangled![1]!;
    return { kind: 'registry', name: parseImageName(name, 'PATH docker://') };
  }
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(path);
    } catch {
      throw new InvalidInputError(`PATH "${printable(path)}" is not a valid URL`);
    }
    if (url.username || url.password) throw new InvalidInputError('PATH URLs with credentials in them are refused');
    return { kind: 'url', url };
  }
  if (scheme || /^\/[^:]*\/[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path)) {
    throw new InvalidInputError(`PATH "${printable(path)}" uses a scheme dockvisor does not know (docker://, http://, https:// or a local tarball)`);
  }
  if (!path.startsWith('/')) throw new InvalidInputError(`PATH "${printable(path)}" is neither docker://, an http(s) URL nor an absolute path`);
  if (path.includes('\0')) throw new InvalidInputError('PATH contains a NUL byte');
  return { kind: 'file', path };
}

/**
 * The file's real path, refused when it lies under a restricted directory and under no safe one, or when it is
 * not a regular file (a directory has no size to report; reading a fifo or a device never ends).
 */
export function allowedLocalFile(path: string, restrictedDirs: string[], safeDirs: string[]): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new InvalidInputError(`PATH ${printable(path)} does not exist on the front-end`);
  }
  const under = (dir: string) => {
    const root = dir.replace(/\/+$/, '');
    return root === '' || real === root || real.startsWith(`${root}/`);
  };
  if (restrictedDirs.some(under) && !safeDirs.some(under)) {
    throw new InvalidInputError(`PATH ${printable(path)} is in a restricted directory of this datastore (RESTRICTED_DIRS/SAFE_DIRS)`);
  }
  const kind = fileKind(statSync(real));
  if (kind !== 'file')
    throw new InvalidInputError(`PATH ${printable(path)} is not a file but ${kind}: give a tarball (docker save, OCI layout or root filesystem)`);
  return real;
}
