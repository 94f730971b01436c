import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadTmConfig } from '../transfer/tm-config.ts';
import { loadHostSettings } from '../../core/host-settings.ts';
import { cloudFindings } from './cloud-check.ts';
import { inspectConfigFile } from './config-files.ts';
import type { ConfigFileRole } from './dockvisor-stanzas.ts';
import { formatFinding, isProblem, type Finding } from './findings.ts';
import type { FrontEndPaths } from './front-end-setup.ts';
import { localNodeVersion, minimumNode, nodeIsRecentEnough } from './node-runtime.ts';
import { oneVersion, type OneVersion, type VersionSources } from './one-version.ts';
import { compareTree, isSame, ownerOf, pathExists, type Owner } from './remotes-placement.ts';
import { CLIENT_DIR, DRIVER_DIRS, MONITORING_CLIENT, monitoringClientDir, packageRoot, packageTree, sharedTrees, type RemotesTree } from './remotes-trees.ts';

export interface CheckOptions {
  paths: FrontEndPaths;
  version: VersionSources;
  env: NodeJS.ProcessEnv;
  /** Bound on each check that waits for something: oned, a host, a registry, node. */
  timeoutMs: number;
  say: (line: string) => void;
  packageRoot?: string;
  oneadminHome?: string;
  /** Where the launchers look for Python (default /usr/bin/python3). */
  python?: string;
}

/**
 * `dockvisor opennebula check`: one line per thing a working front-end needs, `ok`, `missing`, `wrong` or
 * `skipped` (could not be checked here; fails nothing). Returns how many are missing or wrong.
 */
export async function checkFrontEnd(options: CheckOptions): Promise<number> {
  const root = options.packageRoot ?? packageRoot();
  const { paths } = options;
  const local: Finding[] = [];
  let version: OneVersion | undefined;
  try {
    version = oneVersion(options.version);
    local.push({ state: 'ok', subject: `OpenNebula ${version.version}`, detail: `from ${version.source}` });
  } catch (error) {
    local.push({ state: 'wrong', subject: 'OpenNebula version', detail: (error as Error).message });
  }
  local.push(...configFindings(paths.onedConf, 'oned.conf'), ...configFindings(paths.monitordConf, 'monitord.conf'));
  local.push(...remotesFindings(root, paths.remotes, version));
  const minimum = minimumNode(root);
  local.push(nodeFinding(localNodeVersion(options.timeoutMs), minimum), agentClientFinding(options.python ?? AGENT_CLIENT_PYTHON));
  for (const finding of local) options.say(formatFinding(finding));
  const remote = await cloudFindings({
    remotes: paths.remotes,
    env: options.env,
    timeoutMs: options.timeoutMs,
    minimumNode: minimum,
    oneadminHome: options.oneadminHome,
  });
  for (const finding of remote) options.say(formatFinding(finding));
  const problems = [...local, ...remote].filter(isProblem).length;
  options.say(
    problems === 0
      ? 'dockvisor is installed and configured on this front-end'
      : `${problems} problem${problems === 1 ? '' : 's'} (the missing and wrong lines above); dockvisor opennebula install sets up what is on this machine`,
  );
  return problems;
}

function configFindings(path: string, role: ConfigFileRole): Finding[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return [{ state: 'missing', subject: path, detail: `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }];
  }
  return inspectConfigFile(path, role, text);
}

function remotesFindings(root: string, remotes: string, version: OneVersion | undefined): Finding[] {
  if (!isDirectory(remotes)) return [{ state: 'missing', subject: remotes, detail: 'not a directory' }];
  const findings: Finding[] = [];
  const owner = ownerOf(remotes);
  for (const dir of DRIVER_DIRS.filter((dir) => dir !== CLIENT_DIR)) {
    const subject = join(remotes, dir);
    if (!pathExists(subject)) {
      findings.push({ state: 'missing', subject });
      continue;
    }
    const difference = compareTree(remotes, packageTree(root, dir), owner);
    if (isSame(difference)) findings.push({ state: 'ok', subject, detail: "the same as this dockvisor's" });
    else {
      const named = [
        ...difference.changed.map((f) => `${f} differs`),
        ...difference.added.map((f) => `${f} missing`),
        ...difference.removed.map((f) => `${f} is not dockvisor's`),
      ];
      findings.push({ state: 'wrong', subject, detail: `${named.slice(0, 3).join(', ')}${named.length > 3 ? ` and ${named.length - 3} more` : ''}` });
    }
  }
  for (const tree of sharedTrees(root)) findings.push(...sharedFindings(remotes, tree, owner));
  findings.push(...clientFindings(remotes));
  const versionFile = join(remotes, 'VERSION');
  try {
    const said = readFileSync(versionFile, 'utf8').trim();
    if (!version) findings.push({ state: 'skipped', subject: versionFile, detail: `says ${said}; the OpenNebula version is not known to compare` });
    else if (said === version.version || said.startsWith(`${version.version}.`)) findings.push({ state: 'ok', subject: versionFile, detail: said });
    else
      findings.push({
        state: 'wrong',
        subject: versionFile,
        detail: `says ${said.slice(0, 40)}, OpenNebula is ${version.version} (hosts report it; onehost sync compares it)`,
      });
  } catch {
    findings.push({ state: 'missing', subject: versionFile, detail: 'hosts report it and onehost sync compares it' });
  }
  findings.push(adminConfigFinding(join(remotes, 'etc/vmm/dockvisor/dockvisor.conf'), (path) => loadHostSettings(path)));
  findings.push(adminConfigFinding(join(remotes, 'etc/tm/dockvisor/dockvisor.conf'), (path) => loadTmConfig(path)));
  return findings;
}

/** Each of dockvisor's files in a directory of OpenNebula's, on its own: the directory's other files are not dockvisor's business. */
function sharedFindings(remotes: string, tree: RemotesTree, owner: Owner): Finding[] {
  const difference = compareTree(remotes, tree, owner);
  return [...tree.files.keys()].map((path): Finding => {
    const subject = join(remotes, tree.dir, path);
    if (difference.added.includes(path))
      return { state: 'missing', subject, detail: "onehost sync carries it to hosts, where OpenNebula's network drivers need it" };
    if (difference.changed.includes(path)) return { state: 'wrong', subject, detail: "differs from this dockvisor's" };
    return { state: 'ok', subject, detail: "the same as this dockvisor's" };
  });
}

/** The monitoring client must be real files: OpenNebula copies the remotes to hosts with links followed. */
function clientFindings(remotes: string): Finding[] {
  let source: string | undefined;
  try {
    source = monitoringClientDir(remotes);
  } catch {
    // said per file below
  }
  return MONITORING_CLIENT.map((name): Finding => {
    const subject = join(remotes, CLIENT_DIR, name);
    let entry;
    try {
      entry = lstatSync(subject);
    } catch {
      return { state: 'missing', subject };
    }
    if (entry.isSymbolicLink()) return { state: 'wrong', subject, detail: `a link to ${readlinkSync(subject)}: the copy to hosts needs a file` };
    if (!entry.isFile()) return { state: 'wrong', subject, detail: 'not a file' };
    if (!source) return { state: 'ok', subject, detail: 'a file (OpenNebula has no client of its own here to compare with)' };
    const same = readFileSync(subject).equals(readFileSync(join(remotes, source, name)));
    return same
      ? { state: 'ok', subject, detail: `a file, the same as ${source}'s` }
      : { state: 'wrong', subject, detail: `differs from ${source}'s (OpenNebula upgraded since?)` };
  });
}

function adminConfigFinding(path: string, load: (path: string) => unknown): Finding {
  if (!pathExists(path)) return { state: 'missing', subject: path };
  try {
    load(path);
    return { state: 'ok', subject: path };
  } catch (error) {
    return { state: 'wrong', subject: path, detail: (error as Error).message };
  }
}

/** The launchers' client of the action agent runs on /usr/bin/python3; without it every action starts node. */
const AGENT_CLIENT_PYTHON = '/usr/bin/python3';

function agentClientFinding(python: string): Finding {
  const subject = "python3 for the transfer actions' agent";
  return pathExists(python)
    ? { state: 'ok', subject, detail: python }
    : { state: 'skipped', subject, detail: `${python} is missing: optional; the transfer actions start node each instead of handing themselves to the keeper` };
}

function nodeFinding(found: { version?: string; error?: string }, minimum: [number, number]): Finding {
  const subject = 'node on this front-end';
  if (found.error) return { state: 'missing', subject, detail: found.error };
  const recent = nodeIsRecentEnough(found.version!, minimum);
  if (recent === undefined) return { state: 'wrong', subject, detail: `node --version says "${found.version!.slice(0, 40)}"` };
  return recent ? { state: 'ok', subject, detail: found.version } : { state: 'wrong', subject, detail: `${found.version} is older than ${minimum.join('.')}` };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
