import { join } from 'node:path';
import { openHostServices } from '../core/host-services.ts';
import { readBoundedStdin } from './stdin.ts';
import { unsupported, vmmActions } from './vmm-actions.ts';

/**
 * Entry point of remotes/vmm/dockvisor/<action>: `vmm.mjs <action> <OpenNebula argv...>`.
 * Prints the action's result on stdout and exits 0, or prints one line on stderr and exits 1 (never 42).
 */
const [action = '', ...argv] = process.argv.slice(2);
const configPath = process.env.DOCKVISOR_CONFIG ?? join(import.meta.dirname, '../../etc/vmm/dockvisor/dockvisor.conf');

async function main(): Promise<number> {
  const run = Object.hasOwn(vmmActions, action) ? vmmActions[action]! : () => unsupported(action || '(no action)');
  const stdin = await readBoundedStdin();
  const host = openHostServices(configPath);
  try {
    const output = await run(argv, stdin, host);
    if (output) process.stdout.write(`${output}\n`);
    return 0;
  } finally {
    await host.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`dockvisor ${action}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  },
);
