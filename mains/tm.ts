import { runActionMain } from '../drivers/core/action-main.ts';
import { tmRunner } from '../drivers/opennebula/transfer/tm-runner.ts';

/** remotes/tm/dockvisor/<action>: `tm.mjs <action> <OpenNebula argv...>`, run on the front-end (see tmRunner). */
runActionMain(tmRunner(import.meta.dirname), process.argv.slice(2));
