import { vmmRunner } from '../drivers/opennebula/vmm-runner.ts';
import { runActionMain } from '../drivers/core/action-main.ts';

/** remotes/vmm/dockvisor/<action>: `vmm.mjs <action> <OpenNebula argv...>` (see vmmRunner). */
runActionMain(vmmRunner(import.meta.dirname), process.argv.slice(2));
