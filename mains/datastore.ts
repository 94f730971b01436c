import { ImageStore } from '../drivers/images/image-store.ts';
import { readDsRequest } from '../drivers/opennebula/datastore/ds-action-data.ts';
import { dsActions } from '../drivers/opennebula/datastore/ds-actions.ts';
import { runOpenNebulaEntryPoint } from '../drivers/opennebula/entry-point.ts';
import { NotSupportedError } from '../drivers/core/errors.ts';
import { readBoundedStdin } from '../drivers/core/bounded-stdin.ts';

/** Entry point of remotes/datastore/dockvisor/<action>: `datastore.mjs <action> <OpenNebula argv...>`. */
const [action = '', ...argv] = process.argv.slice(2);

async function main(): Promise<void> {
  if (!Object.hasOwn(dsActions, action)) throw new NotSupportedError(`${action || '(no action)'}: not supported by dockvisor`);
  const stdin = argv.length >= 2 && argv[0] !== '-' ? '' : await readBoundedStdin(16 * 1024 * 1024);
  const request = readDsRequest(argv, stdin);
  const store = new ImageStore(request.datastore);
  try {
    const output = await dsActions[action]!(request, store);
    if (output) process.stdout.write(`${output}\n`);
  } finally {
    await store.close();
  }
}

runOpenNebulaEntryPoint(`dockvisor datastore ${action}`, main);
