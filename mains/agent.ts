import { realpathSync } from 'node:fs';
import { runEntryPoint } from '../drivers/core/entry-point.ts';
import { HostSetupError, InvalidInputError } from '../drivers/core/errors.ts';
import { agentSocket, startActionAgent } from '../drivers/opennebula/action-agent-start.ts';
import { remotesVersion } from '../drivers/opennebula/transfer/remotes-version.ts';

/**
 * `agent.mjs [<socket path>]`: a host's optional action agent for the VMM actions (the transfer actions too, for
 * launchers pointed at it with $DOCKVISOR_AGENT_SOCKET), run as the driver's user by a supervisor that restarts it:
 * it exits when launchers of newer remotes arrive from its own tree. It listens where the VMM launchers look:
 * $DOCKVISOR_AGENT_SOCKET, else ~/.dockvisor/vmm-agent.sock.
 */
const [socketArg, ...rest] = process.argv.slice(2);

runEntryPoint('dockvisor agent', async () => {
  if (rest.length) throw new InvalidInputError('usage: agent.mjs [<socket path>]');
  const version = remotesVersion(import.meta.dirname);
  if (!version) throw new InvalidInputError(`no VERSION in ${import.meta.dirname}: build the remotes first`);
  const say = (line: string) => process.stderr.write(`dockvisor agent: ${line}\n`);
  const stepDown = () => {
    say('launchers of other remotes arrived; stepping down for the new version');
    void agent.close();
  };
  const started = await startActionAgent(version, realpathSync(import.meta.dirname), ['vmm', 'tm'], socketArg ?? agentSocket('vmm'), stepDown, say);
  if (!started) throw new HostSetupError('no action agent started');
  const agent = started;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void agent.close());
  await agent.closed;
  say(`stopped after ${agent.served.run} actions (${agent.served.refused} launchers sent to run their own)`);
  return 0;
});
