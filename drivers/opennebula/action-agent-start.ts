import { homedir } from 'node:os';
import { join } from 'node:path';
import { ActionAgent } from '../core/action-agent.ts';
import { tmRunner } from './transfer/tm-runner.ts';
import { vmmRunner } from './vmm-runner.ts';

export type AgentBundle = 'vmm' | 'tm';

/**
 * Where the launchers of `bundle` look for their agent (remotes/lib/dockvisor-launch/launch.sh):
 * $DOCKVISOR_AGENT_SOCKET ("" for none), else ~/.dockvisor/<bundle>-agent.sock. The VMM actions' agent (a host's) and the
 * transfer actions' (the front-end's keeper) are apart, so that a front-end that is also a host runs both.
 */
export function agentSocket(bundle: AgentBundle, env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKVISOR_AGENT_SOCKET ?? join(homedir(), `.dockvisor/${bundle}-agent.sock`);
}

const RUNNERS = { vmm: vmmRunner, tm: tmRunner };

/**
 * The action agent of the remotes in `remotesDir` (version `version`) for the actions of `bundles`, listening on
 * `socketPath`; undefined, with a line said, when the socket is turned off ("") or another agent answers there.
 */
export async function startActionAgent(
  version: string,
  remotesDir: string,
  bundles: AgentBundle[],
  socketPath: string,
  onStale: () => void,
  say: (line: string) => void,
): Promise<ActionAgent | undefined> {
  if (!socketPath) return void say('action agent: turned off (DOCKVISOR_AGENT_SOCKET is empty)');
  const runners = Object.fromEntries(bundles.map((bundle) => [bundle, RUNNERS[bundle]]));
  const agent = new ActionAgent({ version, remotesDir, runners, env: process.env, onStale, log: say });
  try {
    await agent.listen(socketPath);
  } catch (error) {
    say(`action agent: not started: ${(error as Error).message}`);
    return undefined;
  }
  say(`action agent: remotes ${version}, listening on ${socketPath}`);
  return agent;
}
