import { join } from 'node:path';
import { runOpenNebulaEntryPoint } from '../drivers/opennebula/entry-point.ts';
import { openHostServices } from '../drivers/core/host-services.ts';
import { readBoundedStdin } from '../drivers/core/bounded-stdin.ts';
import { MAX_DOCUMENT_BYTES } from '../drivers/opennebula/xml.ts';
import { unsupported, vmmActions } from '../drivers/opennebula/vmm-actions.ts';
import { checkActionArgv } from '../drivers/opennebula/vmm-argv.ts';
import { WATCH_COMMAND } from '../drivers/opennebula/command-watcher.ts';

/**
 * Entry point of remotes/vmm/dockvisor/<action>: `vmm.mjs <action> <OpenNebula argv...>`.
 * Prints the action's result on stdout and exits 0, or prints one line on stderr and exits 1 (never 42).
 */
const [action = '', ...argv] = process.argv.slice(2);
const configPath = process.env.DOCKVISOR_CONFIG ?? join(import.meta.dirname, '../../etc/vmm/dockvisor/dockvisor.conf');

async function main(): Promise<void> {
  if (action === WATCH_COMMAND) return watchCommand(argv[0] ?? '');
  if (!Object.hasOwn(vmmActions, action)) unsupported(action || '(no action)');
  checkActionArgv(action, argv);
  const run = vmmActions[action]!;
  const stdin = await readBoundedStdin(MAX_DOCUMENT_BYTES);
  const host = openHostServices(configPath);
  try {
    const output = await run(argv, stdin, host);
    if (output) process.stdout.write(`${output}\n`);
  } finally {
    await host.close();
  }
}

/** The detached watcher `exec` starts: runs the VM's command to its end and records its output for the probe. */
async function watchCommand(containerName: string): Promise<void> {
  const host = openHostServices(configPath);
  try {
    await host.commands.watch(containerName);
  } finally {
    await host.close();
  }
}

runOpenNebulaEntryPoint(`dockvisor ${action}`, main);
