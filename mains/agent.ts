import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ActionAgent } from '../drivers/core/action-agent.ts';
import { runEntryPoint } from '../drivers/core/entry-point.ts';
import { InvalidInputError } from '../drivers/core/errors.ts';
import { remotesVersion } from '../drivers/opennebula/transfer/remotes-version.ts';
import { tmRunner } from '../drivers/opennebula/transfer/tm-runner.ts';
import { vmmRunner } from '../drivers/opennebula/vmm-runner.ts';

/**
 * `agent.mjs [<socket path>]`: the optional action agent of a host (VMM actions) or front-end (transfer actions),
 * run as the driver's user by a supervisor that restarts it (it exits when launchers of newer remotes arrive).
 * The launchers find it at $DOCKVISOR_AGENT_SOCKET, else ~/.dockvisor/agent.sock.
 */
const [socketArg, ...rest] = process.argv.slice(2);

runEntryPoint('dockvisor agent', async () => {
  if (rest.length) throw new InvalidInputError('usage: agent.mjs [<socket path>]');
  const version = remotesVersion(import.meta.dirname);
  if (!version) throw new InvalidInputError(`no VERSION in ${import.meta.dirname}: build the remotes first`);
  const socketPath = socketArg ?? process.env.DOCKVISOR_AGENT_SOCKET ?? join(homedir(), '.dockvisor/agent.sock');
  const agent = new ActionAgent({
    version,
    remotesDir: realpathSync(import.meta.dirname),
    runners: { vmm: vmmRunner, tm: tmRunner },
    env: process.env,
    onStale: () => {
      process.stderr.write('dockvisor agent: launchers of other remotes arrived; stepping down for the new version\n');
      void agent.close();
    },
  });
  await agent.listen(socketPath);
  process.stderr.write(`dockvisor agent: remotes ${version}, listening on ${socketPath}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void agent.close());
  await agent.closed;
  process.stderr.write(`dockvisor agent: stopped after ${agent.served.run} actions (${agent.served.refused} launchers sent to run their own)\n`);
  return 0;
});
