import type { Argv, CommandModule } from 'yargs';
import { InvalidInputError } from '../core/errors.ts';
import { wholeNumberFlag } from './whole-number-flag.ts';

type SetExitCode = (code: number) => void;

const say = (line: string) => process.stdout.write(`${line}\n`);

const CHECK_TIMEOUT_MS = 10_000;

// Defaults are applied in the handler: yargs gives a flag typed without a value its default, where it should be refused.
function frontEndFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('oned-conf', { type: 'string', describe: "oned's configuration (default /etc/one/oned.conf)" })
    .option('monitord-conf', { type: 'string', describe: "monitord's configuration (default /etc/one/monitord.conf)" })
    .option('remotes', { type: 'string', describe: 'the remotes directory OpenNebula copies to hosts (default /var/lib/one/remotes)' })
    .option('one-version', {
      type: 'string',
      describe: "the front-end's OpenNebula version (default: read from /usr/lib/one/ruby/opennebula.rb or oned --version)",
    });
}

interface FrontEndArgs {
  'oned-conf'?: string;
  'monitord-conf'?: string;
  remotes?: string;
  'one-version'?: string;
}

async function frontEnd(argv: FrontEndArgs) {
  const { DEFAULT_PATHS } = await import('../opennebula/install/front-end-setup.ts');
  const once = (flag: keyof FrontEndArgs, fallback?: string): string | undefined => {
    const value = argv[flag] as unknown;
    if (Array.isArray(value)) throw new InvalidInputError(`--${flag} is given more than once`);
    if (value === '') throw new InvalidInputError(`--${flag} needs a value`);
    return value === undefined ? fallback : String(value);
  };
  const override = once('one-version');
  return {
    paths: {
      onedConf: once('oned-conf', DEFAULT_PATHS.onedConf)!,
      monitordConf: once('monitord-conf', DEFAULT_PATHS.monitordConf)!,
      remotes: once('remotes', DEFAULT_PATHS.remotes)!,
    },
    version: override === undefined ? {} : { override },
  };
}

/** `dockvisor opennebula install | uninstall | check`: an OpenNebula front-end set up for dockvisor by one command. */
export function opennebulaCommand(setExitCode: SetExitCode): CommandModule {
  return {
    command: 'opennebula <command>',
    describe: 'set up, take out or check dockvisor on an OpenNebula front-end',
    builder: (yargs) =>
      yargs
        .command({
          command: 'install',
          describe: 'place the remotes, add dockvisor to oned.conf and monitord.conf (a backup of each changed file is kept), start the connection keeper',
          builder: (y) =>
            frontEndFlags(y)
              .option('dry-run', { type: 'boolean', default: false, describe: 'print what would change, as diffs, and write nothing' })
              .option('keeper', {
                type: 'boolean',
                default: true,
                describe: "start (or restart) the transfer actions' connection keeper as oneadmin (--no-keeper: not)",
              }),
          handler: async (argv) => {
            const { installOnFrontEnd } = await import('../opennebula/install/front-end-setup.ts');
            await installOnFrontEnd({ ...(await frontEnd(argv)), dryRun: argv['dry-run'], keeper: argv.keeper, say });
          },
        })
        .command({
          command: 'uninstall',
          describe: "take out what install added; the admin's remotes/etc configuration stays unless --purge",
          builder: (y) =>
            frontEndFlags(y)
              .option('dry-run', { type: 'boolean', default: false, describe: 'print what would change, as diffs, and write nothing' })
              .option('purge', { type: 'boolean', default: false, describe: 'also remove remotes/etc/vmm/dockvisor and remotes/etc/tm/dockvisor' }),
          handler: async (argv) => {
            const { uninstallFromFrontEnd } = await import('../opennebula/install/front-end-setup.ts');
            await uninstallFromFrontEnd({ ...(await frontEnd(argv)), dryRun: argv['dry-run'], purge: argv.purge, say });
          },
        })
        .command({
          command: 'check',
          describe: 'say what is present, missing or wrong on this front-end (exit 1 when something is)',
          builder: (y) =>
            frontEndFlags(y).option('timeout', {
              type: 'string',
              coerce: wholeNumberFlag('--timeout', { min: 1, max: 600_000 }),
              describe: `milliseconds each check that waits may take (default ${CHECK_TIMEOUT_MS})`,
            }),
          handler: async (argv) => {
            const { checkFrontEnd } = await import('../opennebula/install/front-end-check.ts');
            const problems = await checkFrontEnd({ ...(await frontEnd(argv)), env: process.env, timeoutMs: argv.timeout ?? CHECK_TIMEOUT_MS, say });
            if (problems > 0) setExitCode(1);
          },
        })
        .demandCommand(1, 'opennebula needs a sub-command (try dockvisor opennebula --help)'),
    handler: () => undefined,
  };
}
