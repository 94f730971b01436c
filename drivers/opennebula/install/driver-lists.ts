import { InvalidInputError } from '../../core/errors.ts';
import type { ConfigDocument, VectorAttribute } from './config-syntax.ts';
import { DRIVER_NAME, type WantedListEntry } from './dockvisor-stanzas.ts';
import type { TextEdit } from './text-edits.ts';

/** A driver list inside an ARGUMENTS value: where it is in the file and what it names. */
interface DriverList {
  start: number;
  items: { name: string; start: number; end: number }[];
}

export interface ListEntryState {
  state: 'ok' | 'missing';
  detail: string;
}

/** The manager's ARGUMENTS: a file whose manager has none is not one the installer can change safely. */
function argumentsOf(document: ConfigDocument, entry: WantedListEntry): { manager: VectorAttribute; start: number; raw: string } {
  const manager = document.attributes.find((attribute): attribute is VectorAttribute => attribute.kind === 'vector' && attribute.name === entry.attribute);
  if (!manager) throw new InvalidInputError(`it has no ${entry.attribute} = [ ... ]`);
  const value = manager.pairs.find((pair) => pair.key === 'ARGUMENTS')?.value;
  if (!value) throw new InvalidInputError(`its ${entry.attribute} has no ARGUMENTS`);
  const start = value.start + (value.quoted ? 1 : 0);
  const end = value.end - (value.quoted ? 1 : 0);
  return { manager, start, raw: document.text.slice(start, end) };
}

/** Every list the flag is given in the ARGUMENTS, in order: the driver reads the last one. */
function listsOf(raw: string, offset: number, entry: WantedListEntry): DriverList[] {
  const [short, long] = entry.flags;
  const words = [...raw.matchAll(/\S+/g)].map((match) => ({ word: match[0], at: match.index }));
  const lists: DriverList[] = [];
  words.forEach(({ word, at }, index) => {
    let list: { word: string; at: number } | undefined;
    if (word === short || word === long) {
      const next = words[index + 1];
      if (!next || next.word.startsWith('-')) throw new InvalidInputError(`${entry.attribute} ARGUMENTS: ${word} has no list after it`);
      list = next;
    } else if (word.startsWith(`${long}=`)) list = { word: word.slice(long.length + 1), at: at + long.length + 1 };
    else if (word.startsWith(short) && !word.startsWith('--') && word.length > short.length) list = { word: word.slice(short.length), at: at + short.length };
    if (!list) return;
    let cursor = offset + list.at;
    const items = list.word.split(',').map((name) => {
      const item = { name, start: cursor, end: cursor + name.length };
      cursor = item.end + 1;
      return item;
    });
    lists.push({ start: offset + list.at, items });
  });
  return lists;
}

export function listEntryState(document: ConfigDocument, entry: WantedListEntry): ListEntryState {
  const { start, raw } = argumentsOf(document, entry);
  const effective = listsOf(raw, start, entry).at(-1);
  if (!effective) {
    return entry.whenAbsent === 'all'
      ? { state: 'ok', detail: `no ${entry.flags[0]}: every driver is loaded` }
      : { state: 'missing', detail: `no ${entry.flags[0]}: only ${entry.whenAbsent.join(',')} are loaded` };
  }
  return effective.items.some((item) => item.name === DRIVER_NAME)
    ? { state: 'ok', detail: 'names dockvisor' }
    : { state: 'missing', detail: `does not name dockvisor` };
}

/** `dockvisor` appended to the list the driver reads (or the flag added with its default list and dockvisor). */
export function addToList(document: ConfigDocument, entry: WantedListEntry): TextEdit[] {
  if (listEntryState(document, entry).state === 'ok') return [];
  const { start, raw } = argumentsOf(document, entry);
  const effective = listsOf(raw, start, entry).at(-1);
  if (effective) return [{ start: effective.items.at(-1)!.end, end: effective.items.at(-1)!.end, text: `,${DRIVER_NAME}` }];
  const defaults = entry.whenAbsent === 'all' ? [] : entry.whenAbsent;
  const end = start + raw.length;
  return [{ start: end, end, text: ` ${entry.flags[0]} ${[...defaults, DRIVER_NAME].join(',')}` }];
}

/** `dockvisor` taken out of every list of the flag, with the comma that joined it. A list of dockvisor alone stays. */
export function removeFromList(document: ConfigDocument, entry: WantedListEntry): TextEdit[] {
  const manager = document.attributes.find((attribute) => attribute.kind === 'vector' && attribute.name === entry.attribute);
  if (!manager) return [];
  const { start, raw } = argumentsOf(document, entry);
  const edits: TextEdit[] = [];
  for (const list of listsOf(raw, start, entry)) {
    const kept = list.items.filter((item) => item.name !== DRIVER_NAME);
    if (kept.length === list.items.length || kept.length === 0) continue;
    edits.push({ start: list.start, end: list.items.at(-1)!.end, text: kept.map((item) => item.name).join(',') });
  }
  return edits;
}
