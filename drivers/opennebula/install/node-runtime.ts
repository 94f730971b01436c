import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_RUNTIME_DIR } from '../../runtime/runtime.ts';

/** The oldest Node.js the package runs on, from its package.json (`engines.node`, `>=20.19`). */
export function minimumNode(root: string): [number, number] {
  try {
    const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node ?? '';
    const found = /^>=\s*(\d+)\.(\d+)/.exec(engines);
    if (found) return [Number(found[1]), Number(found[2])];
  } catch {
    // the default below
  }
  return [20, 19];
}

/** Whether `node --version`'s answer (`v20.19.2`) is at least the minimum; undefined when it is not a version. */
export function nodeIsRecentEnough(answer: string, minimum: [number, number]): boolean | undefined {
  const found = /^v(\d+)\.(\d+)\.\d+/.exec(answer.trim());
  if (!found) return undefined;
  const [major, minor] = [Number(found[1]), Number(found[2])];
  return major > minimum[0] || (major === minimum[0] && minor >= minimum[1]);
}

/** `node --version` on this machine, of the node the driver's launchers start: dockvisor's runtime, else node on PATH. */
export function localNodeVersion(timeoutMs: number): { version?: string; error?: string } {
  const runtime = `${SYSTEM_RUNTIME_DIR}/bin/node`;
  const asked = spawnSync(existsSync(runtime) ? runtime : 'node', ['--version'], { encoding: 'utf8', timeout: timeoutMs });
  if (asked.error) return { error: (asked.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'node is not on PATH' : asked.error.message };
  if (asked.status !== 0) return { error: `node --version exited ${asked.status}` };
  return { version: asked.stdout.trim() };
}
