import { InvalidInputError } from '../core/errors.ts';
import type { HostRecord } from '../hosts/host-store.ts';
import { formatSshTarget } from '../hosts/ssh-target.ts';

export const SHELLS = ['bash', 'sh', 'zsh', 'fish', 'powershell', 'cmd'] as const;
export type Shell = (typeof SHELLS)[number];

/** The shell the user runs, from $SHELL; POSIX syntax when it cannot be told. */
export function detectShell(env: NodeJS.ProcessEnv = process.env): Shell {
  const name = (env.SHELL ?? '').split('/').pop() ?? '';
  return (SHELLS as readonly string[]).includes(name) ? (name as Shell) : 'sh';
}

/**
 * Lines that point the docker CLI at a host (`DOCKER_HOST=ssh://...`), in the syntax of the user's shell,
 * or that undo it. The docker CLI runs `ssh` itself: the key must be in ssh-agent or ~/.ssh/config.
 */
export function shellEnv(record: HostRecord | undefined, shell: Shell, unset: boolean): string {
  const url = record ? `ssh://${formatSshTarget(record.ssh)}` : '';
  const name = record?.name ?? '';
  const lines: string[] = [];
  const set = (key: string, value: string) => {
    if (/[\r\n"'`$\\]/.test(value)) throw new InvalidInputError(`${key} would hold characters a shell would interpret`);
    switch (shell) {
      case 'fish':
        return unset ? `set -e ${key};` : `set -gx ${key} "${value}";`;
      case 'powershell':
        return unset ? `Remove-Item Env:\\${key}` : `$Env:${key} = "${value}"`;
      case 'cmd':
        return unset ? `SET ${key}=` : `SET ${key}=${value}`;
      default:
        return unset ? `unset ${key}` : `export ${key}="${value}"`;
    }
  };
  lines.push(set('DOCKER_HOST', url), set('DOCKVISOR_HOST', name));
  const comment = shell === 'cmd' ? 'REM' : '#';
  const self = unset ? 'dockvisor host env --unset' : `dockvisor host env ${name}`;
  const usage =
    shell === 'fish'
      ? `${self} | source`
      : shell === 'powershell'
        ? `& ${self} | Invoke-Expression`
        : shell === 'cmd'
          ? `@FOR /f "tokens=*" %i IN ('${self}') DO @%i`
          : `eval "$(${self})"`;
  if (!unset && record?.ssh.identityFile) lines.push(`${comment} the docker CLI uses ssh: ssh-add ${record.ssh.identityFile}`);
  lines.push(`${comment} Run this command to configure your shell:`, `${comment} ${usage}`);
  return `${lines.join('\n')}\n`;
}
