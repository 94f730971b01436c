import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InvalidInputError } from '../core/errors.ts';
import { printable } from '../core/validate.ts';

/** The largest document a driver action accepts; real VM documents are a few KB. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/** Elements OpenNebula repeats; always read as lists so one NIC and two NICs look alike. */
const REPEATED = new Set(['NIC', 'NIC_ALIAS', 'DISK', 'HISTORY', 'SECURITY_GROUP_RULE', 'SNAPSHOT', 'PCI', 'HOST']);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  // The root itself is never a list, even when it is an element that repeats inside pools (HOST).
  isArray: (name, jpath) => REPEATED.has(name) && String(jpath).includes('.'),
});

export type XmlNode = { [key: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[];

/** Parses an OpenNebula document: no DOCTYPE, no entities of its own, bounded size, one expected root. */
export function parseDocument(text: string, root: string, maxBytes = MAX_DOCUMENT_BYTES): XmlNode {
  if (Buffer.byteLength(text) > maxBytes) {
    throw new InvalidInputError(`the ${root} document is larger than ${maxBytes} bytes`);
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new InvalidInputError(`the ${root} document declares a DOCTYPE or entities, which OpenNebula never sends; refused`);
  }
  checkCharacters(text, root);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new InvalidInputError(`the ${root} document is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  let parsed: XmlNode;
  try {
    parsed = parser.parse(text) as XmlNode;
  } catch (error) {
    throw new InvalidInputError(`the ${root} document cannot be read: ${(error as Error).message}`);
  }
  const element = parsed[root];
  if (element === undefined || typeof element !== 'object' || Array.isArray(element)) {
    const found = Object.keys(parsed).filter((k) => !k.startsWith('?'))[0];
    throw new InvalidInputError(`expected a <${root}> document${found ? `, got <${found}>` : ''}`);
  }
  return element;
}

/** Characters XML 1.0 allows (its `Char` production); the parser would otherwise drop or keep the others silently. */
const FORBIDDEN_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const CHARACTER_REFERENCE = /&#(?:x([0-9A-Fa-f]+)|([0-9]+));/g;
const DECLARED_ENCODING = /^\uFEFF?\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']/;

/**
 * The text is decoded as UTF-8 before it is parsed: a document that says it is in another encoding would be
 * misread, so it is refused. So is a character XML 1.0 forbids, written as itself or as a reference.
 */
function checkCharacters(text: string, root: string): void {
  const encoding = DECLARED_ENCODING.exec(text)?.[1];
  if (encoding !== undefined && !/^(UTF-8|US-ASCII)$/i.test(encoding)) {
    throw new InvalidInputError(`the ${root} document declares the encoding ${printable(encoding)}; only UTF-8 is read`);
  }
  const forbidden = FORBIDDEN_CHARACTER.exec(text)?.[0];
  if (forbidden !== undefined) {
    const code = forbidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidInputError(`the ${root} document has a character XML 1.0 forbids (U+${code})`);
  }
  // Inside CDATA, `&#0;` is four characters of text, not a reference.
  for (const [reference, hex, decimal] of text.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').matchAll(CHARACTER_REFERENCE)) {
    const code = hex !== undefined ? parseInt(hex, 16) : Number(decimal);
    if (code > 0x10ffff || FORBIDDEN_CHARACTER.test(String.fromCodePoint(code))) {
      throw new InvalidInputError(`the ${root} document refers to a character XML 1.0 forbids (${printable(reference)})`);
    }
  }
}

/** A child's text, or undefined when absent or empty. A repeated or nested value where text belongs is an error. */
export function text(node: XmlNode | undefined, name: string, where = ''): string | undefined {
  const value = node?.[name];
  if (value === undefined) return undefined;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(`${where}${name} must be a single value`);
  return value === '' ? undefined : value;
}

export function child(node: XmlNode | undefined, name: string, where = ''): XmlNode | undefined {
  const value = node?.[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(`${where}${name} must be a single section`);
  return value;
}

export function children(node: XmlNode | undefined, name: string, where = ''): XmlNode[] {
  const value = node?.[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (item === '') return {};
    if (typeof item !== 'object' || Array.isArray(item)) throw new InvalidInputError(`${where}${name} must be a section`);
    return item;
  });
}
