import { shellQuote } from '../shell-quote.ts';
import type { ProvisionContext } from './context.ts';
import type { ProvisionStep } from './step.ts';

async function socketGroup(context: ProvisionContext): Promise<string> {
  return (await context.root(`stat -c %G ${shellQuote(context.engineSocket)}`)).trim();
}

async function userGroups(context: ProvisionContext, user: string): Promise<string[] | undefined> {
  const result = await context.session.run(`id -nG ${shellQuote(user)}`);
  return result.code === 0 ? result.stdout.trim().split(/\s+/) : undefined;
}

/** The users who must reach the engine socket: OpenNebula's, and the SSH user when it is not root. */
function usersNeedingAccess(context: ProvisionContext): string[] {
  const users = [context.oneUser];
  if (context.session.target.user !== 'root' && context.session.target.user !== context.oneUser) users.push(context.session.target.user);
  return users;
}

/**
 * OpenNebula's user exists and it (and a non-root SSH user) is in the group of the engine socket.
 * Membership of that group is root-equivalent on the host, as the README says.
 */
export const accessStep: ProvisionStep = {
  id: 'engine-access',
  title: 'engine socket access',
  async check(context) {
    const group = await socketGroup(context);
    if (group === 'root') {
      return { ok: false, detail: `${context.engineSocket} belongs to group root: start dockerd with a socket group (--group docker)` };
    }
    for (const user of usersNeedingAccess(context)) {
      const groups = await userGroups(context, user);
      if (!groups) return { ok: false, detail: `user ${user} does not exist` };
      if (!groups.includes(group)) return { ok: false, detail: `${user} is not in group ${group}` };
    }
    return { ok: true, detail: `${usersNeedingAccess(context).join(', ')} in group ${group}` };
  },
  async apply(context) {
    const group = await socketGroup(context);
    if (group === 'root') return;
    for (const user of usersNeedingAccess(context)) {
      const groups = await userGroups(context, user);
      if (!groups) {
        const home = user === 'oneadmin' ? ' --home-dir /var/lib/one' : '';
        await context.root(`useradd --system --create-home${home} --shell /bin/bash ${shellQuote(user)}`);
      }
      if (!(await userGroups(context, user))?.includes(group)) await context.root(`usermod -aG ${shellQuote(group)} ${shellQuote(user)}`);
    }
    // A new login sees the new group; the engine connection of this run is opened again.
    await context.reconnectEngine();
  },
};
