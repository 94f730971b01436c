import { join, resolve } from 'node:path';
import type { ActionRunner } from '../../core/action-run.ts';
import { readBoundedStdin } from '../../core/bounded-stdin.ts';
import { NotSupportedError } from '../../core/errors.ts';
import { openNebulaExitCode } from '../entry-point.ts';
import { MAX_DOCUMENT_BYTES } from '../xml.ts';
import { remotesVersion } from './remotes-version.ts';
import { monitorSystemDatastore } from './system-ds-monitor.ts';
import { tmActions } from './tm-actions.ts';
import { loadTmConfig } from './tm-config.ts';
import { TransferContext } from './transfer-context.ts';

/**
 * The transfer actions of the bundle in `bundleDir`, run on the front-end: `tm.mjs <action> <OpenNebula argv...>`.
 * The config is $DOCKVISOR_TM_CONFIG, else the remotes' own etc/tm/dockvisor/dockvisor.conf.
 */
export function tmRunner(bundleDir: string, env: NodeJS.ProcessEnv = process.env): ActionRunner {
  const configPath = env.DOCKVISOR_TM_CONFIG ?? join(bundleDir, '../../etc/tm/dockvisor/dockvisor.conf');
  return {
    label: (action) => `dockvisor tm ${action}`,
    exitCode: openNebulaExitCode,
    // The transfer actions' argv ends with `<vm id> <datastore id>`.
    key: (action, argv) => (action === 'monitor' ? undefined : `tm ${argv.at(-2) ?? ''}`),
    async run(action, argv, io) {
      // The system datastore's capacity comes from OpenNebula's view of its hosts, not from a host reached here.
      if (action === 'monitor') return void io.out(await monitorSystemDatastore(argv, await readBoundedStdin(MAX_DOCUMENT_BYTES, io.input), env));
      if (!Object.hasOwn(tmActions, action)) throw new NotSupportedError(`${action || '(no action)'}: not supported by dockvisor`);
      const version = remotesVersion(bundleDir);
      const tm = new TransferContext(loadTmConfig(configPath), version ? { configPath: resolve(configPath), version } : undefined);
      try {
        await tmActions[action]!(argv, tm);
      } finally {
        await tm.close();
      }
    },
  };
}
