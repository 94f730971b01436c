import { join } from 'node:path';
import { runEntryPoint } from '../drivers/core/entry-point.ts';
import { InvalidInputError } from '../drivers/core/errors.ts';
import { connectionKeeper } from '../drivers/core/connection-keeper.ts';
import { remotesVersion } from '../drivers/opennebula/transfer/remotes-version.ts';
import { hostEndpoint, loadTmConfig } from '../drivers/opennebula/transfer/tm-config.ts';

/**
 * `tm-keeper.mjs`: the front-end's optional connection keeper for the transfer actions, run as oneadmin by a
 * supervisor that restarts it (it exits when actions of newer remotes arrive). It listens on the transfer
 * config's `connectionKeeper` socket, or on the one path given.
 */
const [socketArg, ...rest] = process.argv.slice(2);
const configPath = process.env.DOCKVISOR_TM_CONFIG ?? join(import.meta.dirname, '../../etc/tm/dockvisor/dockvisor.conf');

runEntryPoint('dockvisor tm-keeper', async () => {
  if (rest.length) throw new InvalidInputError('usage: tm-keeper.mjs [<socket path>]');
  const version = remotesVersion(import.meta.dirname);
  if (!version) throw new InvalidInputError(`no VERSION in ${import.meta.dirname}: build the remotes first`);
  const socketPath = socketArg ?? loadTmConfig(configPath).connectionKeeper;
  if (!socketPath) throw new InvalidInputError(`the transfer config ${configPath} turns the connection keeper off (connectionKeeper "")`);
  const locate = (config: string, host: string) => {
    const tm = loadTmConfig(config);
    return { location: hostEndpoint(tm, host), timeoutMs: tm.engineTimeoutMs };
  };
  const keeper = connectionKeeper(version, locate, () => {
    process.stderr.write(`dockvisor tm-keeper: actions of other remotes arrived; stepping down for the new version\n`);
    void keeper.close();
  });
  await keeper.listen(socketPath);
  process.stderr.write(`dockvisor tm-keeper: remotes ${version}, listening on ${socketPath}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void keeper.close());
  await keeper.closed;
  process.stderr.write(`dockvisor tm-keeper: stopped after ${keeper.served.engine} engine connections and ${keeper.served.forward} forwards\n`);
  return 0;
});
