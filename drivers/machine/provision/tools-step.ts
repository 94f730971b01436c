import { installPlan, packagesFor, type Tool } from '../package-plans.ts';
import type { ProvisionContext } from './context.ts';
import { requireOs } from './engine-step.ts';
import type { ProvisionStep } from './step.ts';

/**
 * The commands of the network plumbing (tc for NIC bandwidth, ethtool for NICs on Open vSwitch's userspace
 * datapath), and sudo for a non-root OpenNebula user.
 */
const TOOLS: Record<string, Tool> = { ip: 'ip', tc: 'ip', nsenter: 'nsenter', iptables: 'iptables', ethtool: 'ethtool', sudo: 'sudo', visudo: 'sudo' };

async function missingTools(context: ProvisionContext): Promise<string[]> {
  const { paths } = await context.facts();
  return Object.keys(TOOLS).filter((name) => !paths.has(name));
}

export const toolsStep: ProvisionStep = {
  id: 'tools',
  title: 'network and sudo tools',
  async check(context) {
    const missing = await missingTools(context);
    return missing.length ? { ok: false, detail: `missing ${missing.join(', ')}` } : { ok: true, detail: Object.keys(TOOLS).join(', ') };
  },
  async apply(context) {
    const os = requireOs(context);
    const tools = (await missingTools(context)).map((name) => TOOLS[name]!);
    for (const command of installPlan(os.family, packagesFor(os.family, tools))) await context.root(command);
  },
};
