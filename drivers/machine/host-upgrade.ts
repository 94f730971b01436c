import { HostSetupError, InvalidInputError } from '../core/errors.ts';
import { ownedContainerFilter } from '../core/labels.ts';
import { connectToHost } from '../hosts/host-connection.ts';
import { hostEngine } from '../hosts/host-engine.ts';
import type { HostStore } from '../hosts/host-store.ts';
import { engineUpgradePlan } from './package-plans.ts';
import { ProvisionContext } from './provision/context.ts';
import { osStep } from './provision/os-step.ts';

/**
 * Upgrades the engine packages. The package's restart of the engine keeps containers running only
 * thanks to live-restore; with VMs running it is refused unless `force`.
 */
export async function upgradeHost(
  store: HostStore,
  name: string,
  options: { force: boolean; say: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const record = store.get(name);
  const env = options.env ?? process.env;
  const engine = hostEngine(record, 30_000, env);
  let before: string;
  try {
    before = (await engine.version()).Version;
    const running = (await engine.listContainers(ownedContainerFilter())).filter((vm) => vm.State === 'running' || vm.State === 'paused');
    if (running.length > 0 && !options.force) {
      throw new InvalidInputError(
        `${running.length} dockvisor VM(s) run on ${name}: the upgrade restarts the engine (live-restore keeps them running, but not through every upgrade); --force to go ahead`,
      );
    }
  } finally {
    await engine.close();
  }
  const context = new ProvisionContext(record, await connectToHost(record), env);
  try {
    const os = await osStep.check(context);
    if (!os.ok) throw new HostSetupError(os.detail);
    for (const command of engineUpgradePlan(context.os!.family)) await context.root(command);
  } finally {
    await context.close();
  }
  const after = hostEngine(record, 60_000, env);
  try {
    const version = (await after.version()).Version;
    options.say(version === before ? `${name}: engine ${version} is the newest the distribution offers` : `${name}: engine ${before} -> ${version}`);
  } finally {
    await after.close();
  }
}
