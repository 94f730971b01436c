import { join } from 'node:path';
import { runDemo } from './demo/demo.ts';

runDemo(join(import.meta.dirname, '../..')).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`dockvisor demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
