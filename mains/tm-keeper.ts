import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { runEntryPoint } from '../drivers/core/entry-point.ts';
import { InvalidInputError } from '../drivers/core/errors.ts';
import { connectionKeeper } from '../drivers/core/connection-keeper.ts';
import { remotesVersion } from '../drivers/opennebula/transfer/remotes-version.ts';
import { hostEndpoint, loadTmConfig } from '../drivers/opennebula/transfer/tm-config.ts';
import { agentSocket, startActionAgent } from '../drivers/opennebula/action-agent-start.ts';
import type { ActionAgent } from '../drivers/core/action-agent.ts';

/**
 * `tm-keeper.mjs`: the front-end's optional resident process, run as oneadmin by a supervisor that restarts it (it
 * exits when actions of newer remotes arrive): the connection keeper of the transfer actions, on the transfer
 * config's `connectionKeeper` socket or the one path given, and the action agent their launchers hand the actions
 * to, where they look for it ($DOCKVISOR_AGENT_SOCKET, "" for none, else ~/.dockvisor/tm-agent.sock).
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
  let agent: ActionAgent | undefined;
  let steppedDown = false;
  const stepDown = () => {
    steppedDown = true;
    process.stderr.write(`dockvisor tm-keeper: actions of other remotes arrived; stepping down for the new version\n`);
    void keeper.close();
    void agent?.close();
  };
  const keeper = connectionKeeper(version, locate, stepDown);
  await keeper.listen(socketPath);
  process.stderr.write(`dockvisor tm-keeper: remotes ${version}, listening on ${socketPath}\n`);
  const say = (line: string) => process.stderr.write(`dockvisor tm-keeper: ${line}\n`);
  agent = await startActionAgent(version, realpathSync(import.meta.dirname), ['tm'], agentSocket('tm'), stepDown, say);
  if (steppedDown) void agent?.close(); // newer remotes arrived while it started
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void Promise.all([keeper.close(), agent?.close()]));
  await Promise.all([keeper.closed, agent?.closed]);
  process.stderr.write(`dockvisor tm-keeper: stopped after ${keeper.served.engine} engine connections and ${keeper.served.forward} forwards\n`);
  return 0;
});
