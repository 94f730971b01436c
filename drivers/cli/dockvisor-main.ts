import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runEntryPoint } from '../core/entry-point.ts';
import { commandModules } from './command-modules.ts';
import { DOCKVISOR_VERSION } from './version.ts';

runEntryPoint('dockvisor', async () => {
  let exitCode = 0;
  const cli = yargs(hideBin(process.argv))
    .scriptName('dockvisor')
    .command(commandModules((code) => (exitCode = code)))
    .demandCommand(1, 'dockvisor needs a command (try --help)')
    .strict()
    .help()
    .version(DOCKVISOR_VERSION)
    .fail((message, error) => {
      throw error ?? new Error(message);
    });
  await cli.parseAsync();
  return exitCode;
});
