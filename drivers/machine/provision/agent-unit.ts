import { systemdWord } from '../../core/systemd-word.ts';

export const AGENT_UNIT = 'dockvisor-agent.service';
export const AGENT_UNIT_FILE = `/etc/systemd/system/${AGENT_UNIT}`;
/** The unit's first line, by which removal knows the unit is the one provisioning wrote. */
export const AGENT_UNIT_HEADER = '# Written by `dockvisor host provision`; removed by `dockvisor host rm --purge`.';

/**
 * The systemd unit of a host's action agent. `Restart=always` with no start limit: the remotes arrive only with
 * OpenNebula's first `onehost sync`, so until then the start fails and is retried; an agent that meets launchers
 * of newer remotes from its own tree steps down (exit 0) and the restart runs the new code.
 */
export function agentUnit(plan: { user: string; node: string; script: string }): string {
  return [
    AGENT_UNIT_HEADER,
    '[Unit]',
    'Description=dockvisor action agent for the OpenNebula VMM actions',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    `User=${plan.user}`,
    `ExecStart=${systemdWord(plan.node)} ${systemdWord(plan.script)}`,
    'Restart=always',
    'RestartSec=5',
    'UMask=0077',
    '# No NoNewPrivileges: the VMM actions call sudo for ip, tc, iptables and nsenter.',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
