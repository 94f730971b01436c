import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InvalidInputError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';
import type { TarFile } from '../../core/tar-archive.ts';

const CONTEXT_FILES_LIMIT = 16 * 1024 * 1024;

/** context.sh and the FILES of the context (`path` or `path:'name'`), read on the front-end. */
export function contextFiles(paths: string[]): TarFile[] {
  let total = 0;
  return paths.map((item) => {
    const renamed = /^(.*):'([^']+)'$/.exec(item);
    const path = renamed ? renamed[1]! : item;
    const name = renamed ? renamed[2]! : basename(path);
    if (!/^[A-Za-z0-9._-]{1,99}$/.test(name) || name === '.' || name === '..')
      throw new InvalidInputError(`context file name "${check.printable(name)}" is refused`);
    let content: Buffer;
    try {
      if (statSync(path).size > CONTEXT_FILES_LIMIT) throw new Error('too large');
      content = readFileSync(path);
    } catch (error) {
      throw new InvalidInputError(`context file ${check.printable(path)} cannot be read (${(error as Error).message})`);
    }
    total += content.length;
    if (total > CONTEXT_FILES_LIMIT) throw new InvalidInputError('the context files are larger than 16 MB together');
    return { name, content };
  });
}
