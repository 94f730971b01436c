import { shellQuote } from '../../hosts/shell-quote.ts';
import { AGENT_UNIT, AGENT_UNIT_FILE, AGENT_UNIT_HEADER } from './agent-unit.ts';

/**
 * The root script `host rm --purge` runs: the unit provisioning wrote disabled, stopped and removed; a detached agent asked to stop
 * with SIGTERM (it finishes the actions under way). Only a process provably ours is signalled: owned by the user,
 * its command line exactly our node and the agent script. Prints `unit` and `pid <n>` for what it stopped.
 */
export function agentStopScript(plan: { user: string; node: string; script: string }, unitFile = AGENT_UNIT_FILE): string {
  const unit = shellQuote(unitFile);
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    // Only the unit provisioning wrote: its first line says so.
    `if [ -f ${unit} ] && [ "$(head -n 1 ${unit})" = ${shellQuote(AGENT_UNIT_HEADER)} ]; then`,
    `  systemctl disable --now ${AGENT_UNIT} >/dev/null 2>&1 || true`,
    `  rm -f ${unit}; systemctl daemon-reload >/dev/null 2>&1 || true; echo unit`,
    'fi',
    `uid=$(id -u ${shellQuote(plan.user)} 2>/dev/null) || exit 0`,
    // The command line's NULs read as newlines, the last one dropped by the command substitution.
    `want=${shellQuote(`${plan.node}\n${plan.script}`)}`,
    'for p in /proc/[0-9]*; do',
    '  [ "$(stat -c %u "$p" 2>/dev/null)" = "$uid" ] || continue',
    `  [ "$(tr '\\000' '\\n' < "$p/cmdline" 2>/dev/null)" = "$want" ] || continue`,
    '  kill -TERM "${p#/proc/}" 2>/dev/null && echo "pid ${p#/proc/}"',
    'done',
    'true',
  ].join('\n');
}
