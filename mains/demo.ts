import { join } from 'node:path';
import { runEntryPoint } from '../drivers/core/entry-point.ts';
import { runDemo } from '../drivers/cli/demo/demo.ts';

/** `npm run demo`: this machine's Docker engine as an OpenNebula host, driven through the remotes tree's executables. */
runEntryPoint('dockvisor demo', () => runDemo(join(import.meta.dirname, '../..')));
