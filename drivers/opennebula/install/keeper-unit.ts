import { systemdWord } from '../../core/systemd-word.ts';
import type { KeeperPlan } from './keeper-plan.ts';

export const KEEPER_UNIT = 'dockvisor-tm-keeper.service';
export const UNIT_DIR = '/etc/systemd/system';

/**
 * The systemd unit of the connection keeper. `Restart=always`: a keeper that meets actions of newer remotes steps
 * down (exit 0) and systemd starts the new one, whatever placed the remotes.
 */
export function keeperUnit(plan: KeeperPlan): string {
  return [
    '# Written by dockvisor opennebula install; replaced on each install, removed by uninstall.',
    '[Unit]',
    'Description=dockvisor connection keeper and action agent for the OpenNebula transfer actions',
    'After=network-online.target',
    '',
    '[Service]',
    `User=${plan.user.name}`,
    `ExecStart=${systemdWord(plan.node)} ${systemdWord(plan.script)}`,
    'Restart=always',
    'RestartSec=1',
    'UMask=0077',
    'NoNewPrivileges=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * How the unit is started, given what answered at the socket (`same`: a keeper of these remotes), whether the unit
 * file changed and whether the unit is active. The unit's own keeper of these remotes, unchanged, stays (`start`);
 * anything else is restarted from the unit. A keeper of these remotes while the unit is not active runs outside it
 * (started detached): the unit's keeper would find it answering and exit, so it is asked to step down first. One of
 * other remotes needs no asking: the question the installer already put to it made it step down.
 */
export function unitStart(found: 'same' | 'stale' | 'none', changed: boolean, active: boolean): { stepDown: boolean; run: 'start' | 'restart' } {
  const stepDown = found === 'same' && !active;
  return { stepDown, run: found === 'same' && !changed && active ? 'start' : 'restart' };
}
