import { shellQuote } from '../../hosts/shell-quote.ts';
import type { ProvisionStep } from './step.ts';

/**
 * OpenNebula's user exists and it (and a non-root SSH user) is in the group of the engine socket.
 * Membership of that group is root-equivalent on the host, as the README says.
 */
export const accessStep: ProvisionStep = {
  id: 'engine-access',
  title: 'engine socket access',
  async check(context) {
    const { socketGroup, userGroups } = await context.facts();
    if (!socketGroup) return { ok: false, detail: `${context.engineSocket} is not a socket` };
    if (socketGroup === 'root') {
      return { ok: false, detail: `${context.engineSocket} belongs to group root: start dockerd with a socket group (--group docker)` };
    }
    for (const user of context.engineUsers) {
      const groups = userGroups.get(user);
      if (!groups) return { ok: false, detail: `user ${user} does not exist` };
      if (!groups.includes(socketGroup)) return { ok: false, detail: `${user} is not in group ${socketGroup}` };
    }
    return { ok: true, detail: `${context.engineUsers.join(', ')} in group ${socketGroup}` };
  },
  async apply(context) {
    const { socketGroup, userGroups } = await context.facts();
    if (!socketGroup || socketGroup === 'root') return;
    for (const user of context.engineUsers) {
      const groups = userGroups.get(user);
      if (!groups) {
        const home = user === 'oneadmin' ? ' --home-dir /var/lib/one' : '';
        await context.root(`useradd --system --create-home${home} --shell /bin/bash ${shellQuote(user)}`);
      }
      if (!groups?.includes(socketGroup)) await context.root(`usermod -aG ${shellQuote(socketGroup)} ${shellQuote(user)}`);
    }
    // A new login sees the new group; the engine connection of this run is opened again.
    await context.reconnectEngine();
  },
};
