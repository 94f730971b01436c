import { join } from 'node:path';
import { runEntryPoint } from '../../drivers/core/entry-point.ts';
import { NotSupportedError } from '../../drivers/core/errors.ts';
import { loadTmConfig } from './tm-config.ts';
import { tmActions } from './tm-actions.ts';
import { TransferContext } from './transfer-context.ts';

/** Entry point of remotes/tm/dockvisor/<action>: `tm.mjs <action> <OpenNebula argv...>`, run on the front-end. */
const [action = '', ...argv] = process.argv.slice(2);
const configPath = process.env.DOCKVISOR_TM_CONFIG ?? join(import.meta.dirname, '../../etc/tm/dockvisor/dockvisor.conf');

async function main(): Promise<void> {
  if (!Object.hasOwn(tmActions, action)) throw new NotSupportedError(`${action || '(no action)'}: not supported by dockvisor`);
  const tm = new TransferContext(loadTmConfig(configPath));
  try {
    await tmActions[action]!(argv, tm);
  } finally {
    await tm.close();
  }
}

runEntryPoint(`dockvisor tm ${action}`, main);
