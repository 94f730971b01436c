import { installPlan, packagesFor, type Tool } from '../package-plans.ts';
import type { ProvisionContext } from './context.ts';
import { requireOs } from './engine-step.ts';
import type { HostSurvey } from './host-survey.ts';
import type { ProvisionStep } from './step.ts';

/** Ruby for OpenNebula's monitoring client, which runs on the host; rsync, with which oned copies the remotes. */
const COMMANDS: Record<string, Tool> = { ruby: 'ruby', rsync: 'rsync' };
/** The package of each library the client loads; those that only ever come with ruby are ruby's. */
const LIBRARIES: Record<string, Tool> = { base64: 'ruby base64', yaml: 'ruby yaml', 'rexml/document': 'ruby rexml', sqlite3: 'ruby sqlite3' };

function missing(facts: HostSurvey): { commands: string[]; libraries: string[] } {
  return { commands: Object.keys(COMMANDS).filter((name) => !facts.paths.has(name)), libraries: facts.rubyMissing ?? [] };
}

async function install(context: ProvisionContext, tools: Tool[]): Promise<void> {
  const os = requireOs(context);
  for (const command of installPlan(os.family, packagesFor(os.family, tools))) await context.root(command);
}

export const opennebulaToolsStep: ProvisionStep = {
  id: 'opennebula-tools',
  title: "Ruby for OpenNebula's monitoring client, and rsync",
  async check(context) {
    const facts = await context.facts();
    const { commands, libraries } = missing(facts);
    if (commands.length) return { ok: false, detail: `missing ${commands.join(', ')}` };
    if (libraries.length) return { ok: false, detail: `ruby cannot load ${libraries.join(', ')}` };
    return { ok: true, detail: `ruby ${facts.paths.get('ruby')} with the monitoring client's libraries, rsync ${facts.paths.get('rsync')}` };
  },
  async apply(context) {
    const { commands } = missing(await context.facts());
    if (commands.length) {
      // sqlite3 never comes with ruby: it goes in the same install; what else the new ruby lacks is looked at after.
      await install(context, [...commands.map((name) => COMMANDS[name]!), ...(commands.includes('ruby') ? ['ruby sqlite3'] : [])]);
      context.forgetFacts();
    }
    const { libraries } = missing(await context.facts());
    await install(
      context,
      libraries.map((library) => LIBRARIES[library] ?? 'ruby'),
    );
  },
};
