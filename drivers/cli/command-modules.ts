import type { CommandModule } from 'yargs';
import { computeCommand } from './compute-command.ts';
import { hostCommand } from './host-command.ts';
import { opennebulaCommand } from './opennebula-command.ts';

/** The `dockvisor` sub-commands. Each loads its heavy parts only when it runs. */
export function commandModules(setExitCode: (code: number) => void): CommandModule[] {
  return [hostCommand(setExitCode), computeCommand, opennebulaCommand(setExitCode)];
}
