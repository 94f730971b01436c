import { shellQuote } from '../shell-quote.ts';
import type { ProvisionContext } from './context.ts';
import { commandPaths } from './remote-facts.ts';
import type { ProvisionStep } from './step.ts';

/** The root commands of the network plumbing (see drivers/core/nic-plumbing.ts and bridge-firewall.ts). */
const ROOT_COMMANDS = ['ip', 'nsenter', 'iptables', 'tee', 'ovs-vsctl'];

function sudoersPath(user: string): string {
  return `/etc/sudoers.d/dockvisor-${user.replace(/\./g, '_')}`;
}

async function wantedRule(context: ProvisionContext): Promise<string> {
  const paths = await commandPaths(context, ROOT_COMMANDS);
  const allowed = ROOT_COMMANDS.filter((name) => paths.has(name)).map((name) => paths.get(name)!);
  return [
    '# dockvisor: the root commands of the VM network plumbing (written by `dockvisor host provision`)',
    `${context.oneUser} ALL=(root) NOPASSWD: ${allowed.join(', ')}`,
    '',
  ].join('\n');
}

/** A narrow sudoers rule for OpenNebula's user, checked by visudo before it is put in place. */
export const sudoersStep: ProvisionStep = {
  id: 'sudoers',
  title: 'sudo rule for the network plumbing',
  async check(context) {
    const path = sudoersPath(context.oneUser);
    const current = await context.session.run(context.session.asRoot(`cat ${path}`));
    const wanted = await wantedRule(context);
    if (current.code !== 0) return { ok: false, detail: `${path} is missing` };
    return current.stdout === wanted ? { ok: true, detail: path } : { ok: false, detail: `${path} differs from the rule dockvisor needs` };
  },
  async apply(context) {
    const path = sudoersPath(context.oneUser);
    const staged = `${path}.dockvisor-new`;
    // sudo ignores files in sudoers.d whose names contain a dot: the staged copy is never read by it.
    await context.root(`umask 0337; cat > ${shellQuote(staged)} && visudo -cqf ${shellQuote(staged)} && mv -f ${shellQuote(staged)} ${shellQuote(path)} || { rm -f ${shellQuote(staged)}; exit 1; }`, await wantedRule(context));
  },
};
