import { shellQuote } from '../../hosts/shell-quote.ts';
import type { ProvisionContext } from './context.ts';
import type { ProvisionStep } from './step.ts';

/** The root commands of the network plumbing (drivers/core/nic-plumbing.ts, nic-bandwidth.ts, bridge-firewall.ts), of host mounts (host-mounts.ts) and of exec_cancel (vm-commands.ts). */
const ROOT_COMMANDS = ['ip', 'tc', 'nsenter', 'iptables', 'tee', 'ovs-vsctl', 'mount', 'umount', 'kill'];

async function wantedRule(context: ProvisionContext): Promise<string> {
  const { paths } = await context.facts();
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
    const { sudoers } = await context.facts();
    if (sudoers === undefined) return { ok: false, detail: `${context.sudoersFile} is missing` };
    return sudoers === (await wantedRule(context))
      ? { ok: true, detail: context.sudoersFile }
      : { ok: false, detail: `${context.sudoersFile} differs from the rule dockvisor needs` };
  },
  async apply(context) {
    const path = shellQuote(context.sudoersFile);
    const staged = shellQuote(`${context.sudoersFile}.dockvisor-new`);
    // sudo ignores files in sudoers.d whose names contain a dot: the staged copy is never read by it.
    await context.root(
      `umask 0337; cat > ${staged} && visudo -cqf ${staged} && mv -f ${staged} ${path} || { rm -f ${staged}; exit 1; }`,
      await wantedRule(context),
    );
  },
};
