import type { CommandModule } from 'yargs';

/** The `dockvisor` sub-commands. Each loads its heavy parts only when it runs. */
export function commandModules(setExitCode: (code: number) => void): CommandModule[] {
  void setExitCode;
  return [];
}
