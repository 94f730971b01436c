import { join } from 'node:path';
import { runDemo } from '../drivers/cli/demo/demo.ts';
import { runEntryPoint } from '../drivers/core/entry-point.ts';
import { packageRoot } from '../drivers/opennebula/install/remotes-trees.ts';

/** `npm run demo`: this machine's Docker engine as an OpenNebula host, driven through the remotes tree's executables. */
runEntryPoint('dockvisor demo', () => runDemo(join(packageRoot(import.meta.dirname), 'remotes')));
