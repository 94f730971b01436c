import { engineStartPlan, installPlan, packagesFor } from '../package-plans.ts';
import type { ProvisionContext } from './context.ts';
import { commandPaths, engineListener } from './remote-facts.ts';
import type { ProvisionStep } from './step.ts';

/**
 * The engine is installed and listening. A missing engine is installed from the distribution's packages;
 * an installed one that is down is started. One that runs is never restarted nor reconfigured here.
 */
export const engineStep: ProvisionStep = {
  id: 'engine',
  title: 'Docker engine',
  async check(context) {
    const dockerd = (await commandPaths(context, ['dockerd'])).get('dockerd');
    if (!dockerd) return { ok: false, detail: 'dockerd is not installed' };
    const listener = await engineListener(context);
    if (!listener) return { ok: false, detail: `${dockerd} is installed but nothing listens on ${context.engineSocket}` };
    return { ok: true, detail: `${dockerd} (pid ${listener.pid}) listens on ${context.engineSocket}` };
  },
  async apply(context) {
    const os = requireOs(context);
    const installed = (await commandPaths(context, ['dockerd'])).has('dockerd');
    if (!installed) for (const command of installPlan(os.family, packagesFor(os.family, ['engine']))) await context.root(command);
    const systemd = (await context.session.run('test -d /run/systemd/system')).code === 0;
    if (!(await engineListener(context))) for (const command of engineStartPlan(systemd)) await context.root(command);
    await waitFor(() => engineListener(context), 30_000, `the engine did not come up on ${context.engineSocket} within 30 s`);
  },
};

export function requireOs(context: ProvisionContext) {
  if (!context.os) throw new Error('the operating system step has not run');
  return context.os;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, message: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
