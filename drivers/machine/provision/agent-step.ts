import { HostSetupError } from '../../core/errors.ts';
import { shellQuote } from '../../hosts/shell-quote.ts';
import { AGENT_UNIT, AGENT_UNIT_FILE, AGENT_UNIT_HEADER, agentUnit } from './agent-unit.ts';
import {
  AGENT_DIR,
  AGENT_LOG,
  AGENT_SOCKET,
  agentSurveyScript,
  parseAgentSurvey,
  parsePresence,
  presenceRequest,
  presenceScript,
  untrustedSocket,
  type AgentSurvey,
  type Presence,
} from './agent-survey.ts';
import type { ProvisionContext } from './context.ts';
import { waitFor } from './engine-step.ts';
import type { StepCheck, ProvisionStep } from './step.ts';

const START_TIMEOUT_MS = 15_000;
const STEP_DOWN_TIMEOUT_MS = 10_000;

/** What the agent runs: dockvisor's runtime and the agent of the remotes oned copies to the host. */
export function agentPlan(context: ProvisionContext): { user: string; node: string; script: string } {
  return { user: context.oneUser, node: `${context.runtimeDir}/bin/node`, script: `${context.remotesDir}/lib/dockvisor/agent.mjs` };
}

async function survey(context: ProvisionContext): Promise<AgentSurvey> {
  return parseAgentSurvey(await context.root(agentSurveyScript(context.oneUser, context.remotesDir)));
}

/** Whether ours of these remotes answers; `foreign` (with why) when what is at the socket is not the user's own. */
async function presence(context: ProvisionContext, found: AgentSurvey): Promise<Presence | { foreign: string }> {
  const untrusted = untrustedSocket(found);
  if (untrusted === 'nothing' || !found.remotes) return 'none';
  if (untrusted) return { foreign: untrusted };
  const socket = `${found.user!.home}/${AGENT_SOCKET}`;
  // Asked as the user: root connects to nothing the user could point the path at.
  const asked = await context.session.run(context.session.asRoot(asUser(context.oneUser, presenceScript(socket, presenceRequest(found.remotes)))));
  return parsePresence(asked.code, asked.stdout);
}

const NO_REMOTES = 'starts once the remotes are on the host (`onehost sync`); until then the launchers run node themselves';

/** A unit of that name that provisioning did not write (its first line says so): never replaced. */
function foreignUnit(found: AgentSurvey): boolean {
  return found.unit !== undefined && found.unit.split('\n', 1)[0] !== AGENT_UNIT_HEADER;
}

/** Under systemd: the unit is the wanted one and enabled; systemd keeps it running and restarts it on a new version. */
function checkUnit(context: ProvisionContext, found: AgentSurvey): StepCheck {
  if (foreignUnit(found)) return { ok: true, detail: `${AGENT_UNIT_FILE} was not written by dockvisor; left alone, the launchers run node themselves` };
  if (found.unit !== agentUnit(agentPlan(context)))
    return { ok: false, detail: found.unit === undefined ? `${AGENT_UNIT_FILE} is missing` : `${AGENT_UNIT_FILE} differs` };
  if (!found.enabled) return { ok: false, detail: `${AGENT_UNIT} is not enabled` };
  return { ok: true, detail: `${AGENT_UNIT} enabled, as ${context.oneUser}${found.remotes ? '' : `; ${NO_REMOTES}`}` };
}

/**
 * The optional action agent: one resident node that runs the VMM actions the launchers hand it over a socket in
 * a 0700 directory of OpenNebula's user (never a network), instead of a node start each. Under systemd a unit
 * keeps it; elsewhere it is started detached, once the remotes are there. A host without it works all the same.
 */
export const agentStep: ProvisionStep = {
  id: 'agent',
  title: 'action agent for the VMM actions',
  async check(context) {
    const { systemd } = await context.facts();
    const found = await survey(context);
    if (systemd) return checkUnit(context, found);
    if (!found.remotes) return { ok: true, detail: NO_REMOTES };
    const socket = `${found.user?.home ?? `~${context.oneUser}`}/${AGENT_SOCKET}`;
    const answer = await presence(context, found);
    if (typeof answer === 'object') return { ok: true, detail: `${socket}: ${answer.foreign}; left alone, the launchers run node themselves` };
    if (answer === 'same') return { ok: true, detail: `an agent of remotes ${found.remotes.version} answers on ${socket}` };
    if (answer === 'other') return { ok: true, detail: `the agent on ${socket} does not serve these remotes; left alone, the launchers run node themselves` };
    return {
      ok: false,
      detail: answer === 'stale' ? `the agent on ${socket} runs other remotes than ${found.remotes.version}` : `no agent answers on ${socket}`,
    };
  },
  async apply(context) {
    if ((await context.facts()).systemd) return applyUnit(context, await survey(context));
    const found = await survey(context);
    if (!found.user) throw new HostSetupError(`user ${context.oneUser} does not exist`);
    // A stale agent steps down on the check's question; it stops listening at once and finishes its actions.
    await waitFor(async () => (await presence(context, found)) !== 'stale', STEP_DOWN_TIMEOUT_MS, `the agent of other remotes did not step down`, 200);
    await context.root(detachedStart(agentPlan(context)));
    const log = `${found.user.home}/${AGENT_LOG}`;
    try {
      await waitFor(async () => (await presence(context, await survey(context))) === 'same', START_TIMEOUT_MS, 'no answer', 250);
    } catch {
      const last = await context.session.run(context.session.asRoot(asUser(context.oneUser, `tail -n 1 ${shellQuote(log)}`)));
      throw new HostSetupError(`the action agent did not answer within ${START_TIMEOUT_MS / 1000} s (${log}: ${last.stdout.trim() || 'empty'})`);
    }
  },
};

async function applyUnit(context: ProvisionContext, found: AgentSurvey): Promise<void> {
  if (foreignUnit(found)) return;
  const text = agentUnit(agentPlan(context));
  const unit = shellQuote(AGENT_UNIT_FILE);
  if (found.unit !== text) {
    await context.root(`umask 022; cat > ${unit}.dockvisor-new && mv -f ${unit}.dockvisor-new ${unit}`, text);
    await context.root(`systemctl daemon-reload && systemctl enable ${AGENT_UNIT} && systemctl restart ${AGENT_UNIT}`);
  } else await context.root(`systemctl enable --now ${AGENT_UNIT}`);
}

/**
 * The root script that starts the agent as the user, in its own session, with a clean environment (the actions
 * it runs must see the user's HOME, as the launchers oned starts do) and its output appended to a log that the
 * user itself opens, in the socket's directory: root never writes where a path under the user's home points.
 */
export function detachedStart(plan: { user: string; node: string; script: string }): string {
  return [
    'set -e',
    ...asUserPrelude(plan.user),
    `[ -d "$home/${AGENT_DIR}" ] || as_user mkdir -m 0700 "$home/${AGENT_DIR}"`,
    `as_user setsid -f sh -c 'umask 077; cd / && exec "$0" "$1" >>"$2" 2>&1 </dev/null' ${shellQuote(plan.node)} ${shellQuote(plan.script)} "$home/${AGENT_LOG}"`,
  ].join('\n');
}

/** Root script lines that define `as_user <command...>`: the command run as `user`, with only its HOME and a PATH. */
function asUserPrelude(user: string): string[] {
  return [
    `user=${shellQuote(user)}`,
    'e=$(getent passwd "$user")',
    'uid=$(printf %s "$e" | cut -d: -f3); gid=$(printf %s "$e" | cut -d: -f4); home=$(printf %s "$e" | cut -d: -f6)',
    'as_user() { setpriv --reuid="$uid" --regid="$gid" --init-groups -- env -i HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }',
  ];
}

/** A root script that runs the shell `command` as `user`. */
export function asUser(user: string, command: string): string {
  return ['set -e', ...asUserPrelude(user), `as_user sh -c ${shellQuote(command)}`].join('\n');
}
