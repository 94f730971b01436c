import { InvalidInputError } from '../core/errors.ts';
import type { CommandModule } from 'yargs';

/** `dockvisor compute serve`: the Nova-style compute service. Fastify is loaded only when it runs. */
export const computeCommand: CommandModule = {
  command: 'compute <action>',
  describe: 'the compute service for Nova (OpenStack)',
  builder: (yargs) =>
    yargs
      .positional('action', { choices: ['serve'] as const, describe: 'serve: run the HTTP service until stopped' })
      .option('listen', { type: 'string', default: '127.0.0.1:8775', describe: 'host:port to listen on' })
      .option('token-file', { type: 'string', describe: 'file holding the bearer token (else DOCKVISOR_COMPUTE_TOKEN)' })
      .option('config', { type: 'string', describe: 'host config file (JSON)', default: process.env.DOCKVISOR_CONFIG })
      .option('registry', {
        type: 'string',
        describe: 'registry host:port that snapshots and migrations between hosts go through',
        default: process.env.DOCKVISOR_COMPUTE_REGISTRY,
      })
      .option('host', { type: 'string', array: true, describe: 'a host recorded by `dockvisor host create` to manage (repeatable)' })
      .option('local', { type: 'boolean', describe: 'manage this machine too (the default when no --host is given)' }),
  handler: async (argv) => {
    const once = (name: string): string | undefined => {
      const value = argv[name];
      if (Array.isArray(value)) throw new InvalidInputError(`--${name} is given more than once`);
      return value === undefined ? undefined : String(value);
    };
    const hosts = { names: ((argv.host as string[] | undefined) ?? []).map(String), local: argv.local === true };
    if (Array.isArray(argv.local)) throw new InvalidInputError('--local is given more than once');
    const options = { listen: once('listen')!, tokenFile: once('token-file'), hostConfig: once('config'), registry: once('registry'), hosts };
    const { serveCompute } = await import('../nova/service/serve.ts');
    await serveCompute(options);
  },
};
