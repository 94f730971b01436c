import { installPlan, packagesFor, type Tool } from '../package-plans.ts';
import type { ProvisionContext } from './context.ts';
import { requireOs } from './engine-step.ts';
import type { HostSurvey } from './host-survey.ts';
import type { ProvisionStep } from './step.ts';

/**
 * The commands of the network plumbing (tc for NIC bandwidth, ethtool for NICs on Open vSwitch's userspace
 * datapath), sudo for a non-root OpenNebula user, and /usr/bin/python3, with which the launchers hand their
 * action to the action agent.
 */
const TOOLS: Record<string, Tool> = {
  ip: 'ip',
  tc: 'ip',
  nsenter: 'nsenter',
  iptables: 'iptables',
  ethtool: 'ethtool',
  sudo: 'sudo',
  visudo: 'sudo',
  python3: 'python3',
};

/** python3 counts only at the path the launchers run it from. */
const present = (facts: HostSurvey, name: string) => (name === 'python3' ? facts.python3 : facts.paths.has(name));

async function missingTools(context: ProvisionContext): Promise<string[]> {
  const facts = await context.facts();
  return Object.keys(TOOLS).filter((name) => !present(facts, name));
}

export const toolsStep: ProvisionStep = {
  id: 'tools',
  title: 'network and sudo tools, python3',
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
