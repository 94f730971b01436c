import { InvalidInputError } from '../../core/errors.ts';
import { ConfigSyntaxError, parseConfig, type ConfigDocument } from './config-syntax.ts';
import { WANTED_LIST_ENTRIES, WANTED_STANZAS, type ConfigFileRole } from './dockvisor-stanzas.ts';
import { addToList, listEntryState, removeFromList } from './driver-lists.ts';
import type { Finding } from './findings.ts';
import { installStanza, stanzaState, uninstallStanza } from './stanza-edits.ts';
import { applyEdits, type TextEdit } from './text-edits.ts';

/** A configuration file before and after dockvisor's changes, and those changes in words. */
export interface ConfigFilePlan {
  path: string;
  role: ConfigFileRole;
  before: string;
  after: string;
  said: string[];
}

/** Parses the file or refuses it in one line that names it: nothing is written from a file not understood. */
export function readConfig(path: string, text: string): ConfigDocument {
  try {
    return parseConfig(text);
  } catch (error) {
    if (error instanceof ConfigSyntaxError) throw new InvalidInputError(`${path} cannot be parsed (${error.message}); nothing written`);
    throw error;
  }
}

/** What install (or uninstall) changes in one file; `after` equals `before` when nothing needs to change. */
export function planConfigFile(path: string, role: ConfigFileRole, text: string, action: 'install' | 'uninstall'): ConfigFilePlan {
  const document = readConfig(path, text);
  const edits: TextEdit[] = [];
  const said: string[] = [];
  let after: string;
  try {
    for (const stanza of WANTED_STANZAS.filter((wanted) => wanted.file === role)) {
      const change = action === 'install' ? installStanza(document, stanza) : uninstallStanza(document, stanza);
      edits.push(...change.edits);
      said.push(...change.said);
    }
    for (const entry of WANTED_LIST_ENTRIES.filter((wanted) => wanted.file === role)) {
      const change = action === 'install' ? addToList(document, entry) : removeFromList(document, entry);
      edits.push(...change);
      if (change.length) said.push(`${entry.describe} ${action === 'install' ? 'names dockvisor' : 'no longer names dockvisor'}`);
    }
    after = applyEdits(text, edits);
  } catch (error) {
    throw new InvalidInputError(`${path} is not a ${role} dockvisor can change: ${(error as Error).message}; nothing written`);
  }
  return { path, role, before: text, after, said };
}

/** Each stanza and list dockvisor needs in the file, present, missing or wrong. */
export function inspectConfigFile(path: string, role: ConfigFileRole, text: string): Finding[] {
  let document: ConfigDocument;
  try {
    document = parseConfig(text);
  } catch (error) {
    return [{ state: 'wrong', subject: path, detail: `cannot be parsed (${(error as Error).message})` }];
  }
  const findings: Finding[] = [];
  for (const stanza of WANTED_STANZAS.filter((wanted) => wanted.file === role)) {
    const { state, differences } = stanzaState(document, stanza);
    const subject = `${path}: ${stanza.attribute} dockvisor`;
    findings.push(state === 'ok' ? { state, subject } : { state, subject, detail: state === 'missing' ? 'not there' : differences.join(', ') });
  }
  for (const entry of WANTED_LIST_ENTRIES.filter((wanted) => wanted.file === role)) {
    const subject = `${path}: ${entry.describe}`;
    try {
      const { state, detail } = listEntryState(document, entry);
      findings.push({ state, subject, detail });
    } catch (error) {
      findings.push({ state: 'wrong', subject, detail: (error as Error).message });
    }
  }
  return findings;
}
