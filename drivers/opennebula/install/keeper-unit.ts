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
    'Description=dockvisor connection keeper for the OpenNebula transfer actions',
    'After=network-online.target',
    '',
    '[Service]',
    `User=${plan.user.name}`,
    `ExecStart=${quoted(plan.node)} ${quoted(plan.script)}`,
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

/** One ExecStart word: systemd's quoting, with `%` (its specifiers) doubled. */
function quoted(word: string): string {
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}
