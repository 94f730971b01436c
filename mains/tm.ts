import { join, resolve } from 'node:path';
import { remotesVersion } from '../drivers/opennebula/transfer/remotes-version.ts';
import { monitorSystemDatastore } from '../drivers/opennebula/transfer/system-ds-monitor.ts';
import { tmActions } from '../drivers/opennebula/transfer/tm-actions.ts';
import { loadTmConfig } from '../drivers/opennebula/transfer/tm-config.ts';
import { TransferContext } from '../drivers/opennebula/transfer/transfer-context.ts';
import { runOpenNebulaEntryPoint } from '../drivers/opennebula/entry-point.ts';
import { NotSupportedError } from '../drivers/core/errors.ts';
import { readBoundedStdin } from '../drivers/core/bounded-stdin.ts';
import { MAX_DOCUMENT_BYTES } from '../drivers/opennebula/xml.ts';

/** Entry point of remotes/tm/dockvisor/<action>: `tm.mjs <action> <OpenNebula argv...>`, run on the front-end. */
const [action = '', ...argv] = process.argv.slice(2);
const configPath = process.env.DOCKVISOR_TM_CONFIG ?? join(import.meta.dirname, '../../etc/tm/dockvisor/dockvisor.conf');

async function main(): Promise<void> {
  // The system datastore's capacity comes from OpenNebula's view of its hosts, not from a host reached here.
  if (action === 'monitor') return void process.stdout.write(await monitorSystemDatastore(argv, await readBoundedStdin(MAX_DOCUMENT_BYTES)));
  if (!Object.hasOwn(tmActions, action)) throw new NotSupportedError(`${action || '(no action)'}: not supported by dockvisor`);
  const version = remotesVersion(import.meta.dirname);
  const tm = new TransferContext(loadTmConfig(configPath), version ? { configPath: resolve(configPath), version } : undefined);
  try {
    await tmActions[action]!(argv, tm);
  } finally {
    await tm.close();
  }
}

runOpenNebulaEntryPoint(`dockvisor tm ${action}`, main);
