import { InvalidInputError } from '../drivers/core/errors.ts';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandModules } from '../drivers/cli/command-modules.ts';
import { DOCKVISOR_VERSION } from '../drivers/cli/version.ts';
import { runEntryPoint } from '../drivers/core/entry-point.ts';

/** The `dockvisor` command: `dockvisor <host | compute | opennebula> ...`, or --help, --version. */
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
      throw error ?? new InvalidInputError(message);
    });
  await cli.parseAsync();
  return exitCode;
});
