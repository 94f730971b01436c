import { installPlan, packagesFor } from '../package-plans.ts';
import type { ProvisionContext } from './context.ts';
import { requireOs } from './engine-step.ts';
import { commandPaths } from './remote-facts.ts';
import type { ProvisionStep } from './step.ts';

const MINIMUM = [20, 19];

async function nodeVersion(context: ProvisionContext): Promise<{ path: string; version: string } | undefined> {
  const path = (await commandPaths(context, ['node'])).get('node');
  if (!path) return undefined;
  return { path, version: (await context.root(`${path} --version`)).trim() };
}

function recentEnough(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0]! || (major === MINIMUM[0] && minor >= MINIMUM[1]!);
}

/** Node.js for the driver scripts OpenNebula runs on the host: the distribution's package when it is recent enough. */
export const nodeStep: ProvisionStep = {
  id: 'node',
  title: `Node.js >= ${MINIMUM.join('.')}`,
  async check(context) {
    const found = await nodeVersion(context);
    if (!found) return { ok: false, detail: 'node is not installed' };
    if (!recentEnough(found.version)) {
      return {
        ok: false,
        detail: `${found.path} is ${found.version}, older than ${MINIMUM.join('.')}: install a newer Node.js (nodejs.org or your distribution's backports), then resume`,
      };
    }
    return { ok: true, detail: `${found.path} ${found.version}` };
  },
  async apply(context) {
    // Only a missing node is installed; one that is too old belongs to someone and is not replaced behind their back.
    if (await nodeVersion(context)) return;
    const os = requireOs(context);
    for (const command of installPlan(os.family, packagesFor(os.family, ['node']))) await context.root(command);
  },
};
