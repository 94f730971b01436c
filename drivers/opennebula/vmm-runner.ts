import { join } from 'node:path';
import type { ActionRunner } from '../core/action-run.ts';
import { readBoundedStdin } from '../core/bounded-stdin.ts';
import { openHostServices } from '../core/host-services.ts';
import { WATCH_COMMAND } from './command-watcher.ts';
import { openNebulaExitCode } from './entry-point.ts';
import { unsupported, vmmActions } from './vmm-actions.ts';
import { actionVmId, checkActionArgv } from './vmm-argv.ts';
import { MAX_DOCUMENT_BYTES } from './xml.ts';

/**
 * The VMM actions of the bundle in `bundleDir` (remotes/lib/dockvisor): `vmm.mjs <action> <OpenNebula argv...>`
 * prints the action's result and ends 0, or fails with one line (never 42). The host config is
 * $DOCKVISOR_CONFIG, else the remotes' own etc/vmm/dockvisor/dockvisor.conf.
 */
export function vmmRunner(bundleDir: string, env: NodeJS.ProcessEnv = process.env): ActionRunner {
  const configPath = env.DOCKVISOR_CONFIG ?? join(bundleDir, '../../etc/vmm/dockvisor/dockvisor.conf');
  const bundle = join(bundleDir, 'vmm.mjs');
  return {
    label: (action) => `dockvisor ${action}`,
    exitCode: openNebulaExitCode,
    key: (action, argv) => (action === WATCH_COMMAND ? undefined : `vmm ${actionVmId(action, argv) ?? ''}`),
    async run(action, argv, io) {
      if (action === WATCH_COMMAND) return watchCommand(configPath, argv[0] ?? '');
      if (!Object.hasOwn(vmmActions, action)) unsupported(action || '(no action)');
      checkActionArgv(action, argv);
      const stdin = await readBoundedStdin(MAX_DOCUMENT_BYTES, io.input);
      const host = openHostServices(configPath);
      try {
        const output = await vmmActions[action]!(argv, stdin, host, { bundle, env });
        if (output) io.out(`${output}\n`);
      } finally {
        await host.close();
      }
    },
  };
}

/** The detached watcher `exec` starts: runs the VM's command to its end and records its output for the probe. */
async function watchCommand(configPath: string, containerName: string): Promise<void> {
  const host = openHostServices(configPath);
  try {
    await host.commands.watch(containerName);
  } finally {
    await host.close();
  }
}
