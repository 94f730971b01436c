import { lineEnd, lineStart, pairValue, type ConfigAttribute, type ConfigDocument, type VectorAttribute } from './config-syntax.ts';
import { DRIVER_NAME, renderStanza, sameValue, type WantedStanza } from './dockvisor-stanzas.ts';
import type { TextEdit } from './text-edits.ts';

/** The comment line above a stanza the installer adds; uninstall takes both out, and the blank line before. */
export const MARKER = '# Added by dockvisor opennebula install';

export interface StanzaState {
  state: 'ok' | 'missing' | 'wrong';
  /** What differs from the wanted stanza, in the admin's words. */
  differences: string[];
}

/** dockvisor's stanzas of that kind in the file: those whose NAME is dockvisor. */
export function dockvisorStanzas(document: ConfigDocument, stanza: WantedStanza): VectorAttribute[] {
  return document.attributes.filter(
    (attribute): attribute is VectorAttribute =>
      attribute.kind === 'vector' && attribute.name === stanza.attribute && pairValue(attribute, 'NAME') === DRIVER_NAME,
  );
}

/** How the stanza found compares with the wanted one: same keys, same values, nothing more. Layout does not matter. */
export function differences(found: VectorAttribute, stanza: WantedStanza): string[] {
  const said: string[] = [];
  const seen = new Set<string>();
  for (const pair of found.pairs) {
    if (seen.has(pair.key)) said.push(`${pair.key} is given twice`);
    seen.add(pair.key);
  }
  for (const [key, want] of stanza.pairs) {
    const have = pairValue(found, key);
    if (have === undefined) said.push(`${key} is missing`);
    else if (!sameValue(key, have, want)) said.push(`${key} is "${have}", not "${want}"`);
  }
  const wanted = new Set(stanza.pairs.map(([key]) => key));
  for (const key of seen) if (!wanted.has(key)) said.push(`${key} is not dockvisor's`);
  return said;
}

export function stanzaState(document: ConfigDocument, stanza: WantedStanza): StanzaState {
  const found = dockvisorStanzas(document, stanza);
  if (found.length === 0) return { state: 'missing', differences: [] };
  const said = differences(found[0]!, stanza);
  if (found.length > 1) said.push(`${found.length} stanzas are named dockvisor`);
  return { state: said.length ? 'wrong' : 'ok', differences: said };
}

/**
 * The edits that make the file hold exactly the wanted stanza: added after the last stanza of its kind (or at the
 * end) under the marker comment, or the first dockvisor one rewritten when its values differ; others named
 * dockvisor go. Each change is also said in words.
 */
export function installStanza(document: ConfigDocument, stanza: WantedStanza): { edits: TextEdit[]; said: string[] } {
  const found = dockvisorStanzas(document, stanza);
  const what = `${stanza.attribute} dockvisor`;
  if (found.length === 0) {
    const kin = document.attributes.filter((attribute) => attribute.kind === 'vector' && attribute.name === stanza.attribute).at(-1);
    const { text } = document;
    let at = text.length;
    let lead = text === '' || text.endsWith('\n') ? '' : '\n';
    if (kin) {
      const end = lineEnd(text, kin.end);
      at = end < text.length ? end + 1 : end;
      lead = end < text.length ? '' : '\n';
    }
    return { edits: [{ start: at, end: at, text: `${lead}\n${MARKER}\n${renderStanza(stanza)}\n` }], said: [`${what} added`] };
  }
  const [first, ...others] = found;
  const edits: TextEdit[] = [];
  const said: string[] = [];
  const differ = differences(first!, stanza);
  if (differ.length) {
    edits.push({ start: first!.start, end: first!.end, text: renderStanza(stanza) });
    said.push(`${what} replaced (${differ.join(', ')})`);
  }
  for (const other of others) edits.push(removal(document.text, other));
  if (others.length) said.push(`${others.length} more ${what} removed`);
  return { edits, said };
}

/** Every stanza named dockvisor taken out, with the marker and blank line the installer put above it. */
export function uninstallStanza(document: ConfigDocument, stanza: WantedStanza): { edits: TextEdit[]; said: string[] } {
  const found = dockvisorStanzas(document, stanza);
  return { edits: found.map((attribute) => removal(document.text, attribute)), said: found.length ? [`${stanza.attribute} dockvisor removed`] : [] };
}

/**
 * The bytes to take out for an attribute: its own, widened to whole lines when nothing but a comment shares them, then
 * the marker line above it and the blank line above that, when they are there.
 */
function removal(text: string, attribute: ConfigAttribute): TextEdit {
  let start = attribute.start;
  let end = attribute.end;
  const first = lineStart(text, start);
  const last = lineEnd(text, end);
  if (!/\S/.test(text.slice(first, start)) && /^[ \t\r]*(#.*)?$/.test(text.slice(end, last))) {
    start = first;
    end = last < text.length ? last + 1 : last;
    const markerStart = lineStart(text, start - 1);
    if (start > 0 && text.slice(markerStart, start - 1).trimEnd() === MARKER) {
      start = markerStart;
      const blankStart = lineStart(text, start - 1);
      if (start > 0 && text.slice(blankStart, start - 1).trim() === '') start = blankStart;
    }
  }
  return { start, end, text: '' };
}
