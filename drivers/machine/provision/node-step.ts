import { installPlan, packagesFor } from '../package-plans.ts';
import { requireOs } from './engine-step.ts';
import type { ProvisionStep } from './step.ts';

const MINIMUM = [20, 19];

function recentEnough(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0]! || (major === MINIMUM[0] && minor >= MINIMUM[1]!);
}

/** Node.js for the driver scripts OpenNebula runs on the host: the distribution's package when it is recent enough. */
export const nodeStep: ProvisionStep = {
  id: 'node',
  title: `Node.js >= ${MINIMUM.join('.')}`,
  async check(context) {
    const { paths, nodeVersion } = await context.facts();
    const path = paths.get('node');
    if (!path || !nodeVersion) return { ok: false, detail: 'node is not installed' };
    if (!recentEnough(nodeVersion)) {
      return {
        ok: false,
        detail: `${path} is ${nodeVersion}, older than ${MINIMUM.join('.')}: install a newer Node.js (nodejs.org or your distribution's backports), then resume`,
      };
    }
    return { ok: true, detail: `${path} ${nodeVersion}` };
  },
  async apply(context) {
    // Only a missing node is installed; one that is too old belongs to someone and is not replaced behind their back.
    if ((await context.facts()).paths.has('node')) return;
    const os = requireOs(context);
    for (const command of installPlan(os.family, packagesFor(os.family, ['node']))) await context.root(command);
  },
};
