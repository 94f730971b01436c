import { HostSetupError } from '../../core/errors.ts';
import { pollUntil } from '../../core/poll.ts';
import { engineStartPlan, installPlan, packagesFor } from '../package-plans.ts';
import type { ProvisionContext } from './context.ts';
import type { ProvisionStep } from './step.ts';

/**
 * The engine is installed and listening. A missing engine is installed from the distribution's packages;
 * an installed one that is down is started. One that runs is never restarted nor reconfigured here.
 */
export const engineStep: ProvisionStep = {
  id: 'engine',
  title: 'Docker engine',
  async check(context) {
    const facts = await context.facts();
    const dockerd = facts.paths.get('dockerd');
    if (!dockerd) return { ok: false, detail: 'dockerd is not installed' };
    if (!facts.listener) return { ok: false, detail: `${dockerd} is installed but nothing listens on ${context.engineSocket}` };
    return { ok: true, detail: `${dockerd} (pid ${facts.listener.pid}) listens on ${context.engineSocket}` };
  },
  async apply(context) {
    const os = requireOs(context);
    const facts = await context.facts();
    if (!facts.paths.has('dockerd')) for (const command of installPlan(os.family, packagesFor(os.family, ['engine']))) await context.root(command);
    context.forgetFacts();
    if (!(await context.facts()).listener) for (const command of engineStartPlan(facts.systemd)) await context.root(command);
    await waitFor(
      async () => {
        context.forgetFacts();
        return (await context.facts()).listener;
      },
      30_000,
      `the engine did not come up on ${context.engineSocket} within 30 s`,
    );
  },
};

export function requireOs(context: ProvisionContext) {
  if (!context.os) throw new HostSetupError('the operating system step has not run');
  return context.os;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, message: string, intervalMs = 500): Promise<T> {
  const value = await pollUntil(probe, { timeoutMs, intervalMs });
  if (!value) throw new HostSetupError(message);
  return value;
}
