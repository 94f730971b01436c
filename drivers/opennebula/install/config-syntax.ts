/**
 * OpenNebula's configuration syntax (oned.conf, monitord.conf), read the way oned's own lexer reads it
 * (src/template/template_parser.l and template_syntax.y): `NAME = value`, `NAME = "quoted value"`,
 * `NAME =` (empty), and vectors `NAME = [ KEY = value, KEY = "value" ]`; `#` starts a comment that runs to the
 * end of the line, anywhere a name or a separator may come; blanks and newlines around names, `=`, `,` and
 * brackets do not matter. Every attribute keeps its byte offsets, so an editor can change one and leave the rest
 * of the file exactly as it was.
 */

export interface ConfigValue {
  /** The value as oned sees it: without the quotes, `\"` read as `"`. */
  text: string;
  /** The token in the file: from its first byte (the opening quote, if any) to just after its last. */
  start: number;
  end: number;
  quoted: boolean;
}

export interface ConfigPair {
  /** Upper-cased, as oned stores a vector's keys. */
  key: string;
  value: ConfigValue;
}

interface AttributeBase {
  /** Upper-cased: oned does not tell `vm_mad` from `VM_MAD`. */
  name: string;
  /** From the first byte of the name to just after the value or the closing bracket. */
  start: number;
  end: number;
}

export interface SingleAttribute extends AttributeBase {
  kind: 'single';
  /** Undefined for `NAME =` with nothing after it on the line. */
  value?: ConfigValue;
}

export interface VectorAttribute extends AttributeBase {
  kind: 'vector';
  pairs: ConfigPair[];
}

export type ConfigAttribute = SingleAttribute | VectorAttribute;

export interface ConfigDocument {
  text: string;
  attributes: ConfigAttribute[];
}

/** Where and why a file is not in OpenNebula's syntax. */
export class ConfigSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'ConfigSyntaxError';
  }
}

const NAME = /[A-Za-z0-9_]+/y;
/** An unquoted value: anything but `=`, `#`, blanks, newlines, commas and brackets. */
const BARE_VALUE = /[^=#\s,[\]]+/y;

export function parseConfig(text: string): ConfigDocument {
  return { text, attributes: new Reader(text).attributes() };
}

/** The value of a vector's key, as oned reads it: the first of its name wins. */
export function pairValue(attribute: VectorAttribute, key: string): string | undefined {
  return attribute.pairs.find((pair) => pair.key === key)?.value.text;
}

class Reader {
  private pos = 0;

  constructor(private readonly text: string) {}

  attributes(): ConfigAttribute[] {
    const found: ConfigAttribute[] = [];
    for (;;) {
      this.skipTrivia();
      if (this.pos >= this.text.length) return found;
      found.push(this.attribute());
    }
  }

  private attribute(): ConfigAttribute {
    const start = this.pos;
    const name = this.name('an attribute name');
    this.skipTrivia();
    this.expect('=', `"=" after ${name}`);
    this.skipBlanks();
    if (this.atLineEnd()) return { kind: 'single', name, start, end: this.pos };
    if (this.text[this.pos] === '[') {
      this.pos += 1;
      const pairs = this.pairs(name);
      return { kind: 'vector', name, start, end: this.pos, pairs };
    }
    const value = this.value(name);
    return { kind: 'single', name, start, end: value.end, value };
  }

  private pairs(vector: string): ConfigPair[] {
    const pairs: ConfigPair[] = [];
    for (;;) {
      this.skipTrivia();
      const key = this.name(pairs.length === 0 ? `a key inside ${vector} = [` : `a key after "," in ${vector}`);
      this.skipTrivia();
      this.expect('=', `"=" after ${key} in ${vector}`);
      this.skipBlanks();
      if (this.atLineEnd()) this.fail(`${key} in ${vector} has no value`);
      pairs.push({ key, value: this.value(`${key} in ${vector}`) });
      this.skipTrivia();
      if (this.text[this.pos] === ',') {
        this.pos += 1;
        continue;
      }
      this.expect(']', `"," or "]" after ${key} in ${vector}`);
      return pairs;
    }
  }

  private value(what: string): ConfigValue {
    const start = this.pos;
    if (this.text[start] === '"') {
      const close = closingQuote(this.text, start);
      if (close < 0) this.fail(`the quoted value of ${what} never ends`);
      this.pos = close + 1;
      const text = this.text.slice(start + 1, close).replaceAll('\\"', '"');
      return { text, start, end: this.pos, quoted: true };
    }
    BARE_VALUE.lastIndex = start;
    const bare = BARE_VALUE.exec(this.text);
    if (!bare) this.fail(`${what} has no value`);
    this.pos = start + bare[0].length;
    return { text: bare[0], start, end: this.pos, quoted: false };
  }

  private name(what: string): string {
    NAME.lastIndex = this.pos;
    const found = NAME.exec(this.text);
    if (!found) this.fail(`expected ${what}`);
    this.pos += found[0].length;
    return found[0].toUpperCase();
  }

  private expect(char: string, what: string): void {
    if (this.text[this.pos] !== char) this.fail(`expected ${what}`);
    this.pos += 1;
  }

  /** Blanks, newlines and comments. */
  private skipTrivia(): void {
    for (;;) {
      const char = this.text[this.pos];
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r') this.pos += 1;
      else if (char === '#') this.pos = lineEnd(this.text, this.pos);
      else return;
    }
  }

  private skipBlanks(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos += 1;
  }

  /** `NAME =` followed by the end of the line is an empty value, as oned's EQUAL_EMPTY token. */
  private atLineEnd(): boolean {
    const char = this.text[this.pos];
    return char === undefined || char === '\n' || char === '\r';
  }

  private fail(reason: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split('\n').length;
    const column = this.pos - before.lastIndexOf('\n');
    throw new ConfigSyntaxError(line, column, reason);
  }
}

/**
 * The quote that ends a quoted value opened at `open`, as oned's lexer finds it: the longest run where every
 * quote inside is escaped (`\"`). -1 when there is none.
 */
function closingQuote(text: string, open: number): number {
  let candidate = -1;
  for (let at = text.indexOf('"', open + 1); at >= 0; at = text.indexOf('"', at + 1)) {
    if (text[at - 1] !== '\\') return at;
    candidate = at;
  }
  return candidate;
}

/** The offset of the newline that ends the line holding `at` (or the end of the text). */
export function lineEnd(text: string, at: number): number {
  const newline = text.indexOf('\n', at);
  return newline < 0 ? text.length : newline;
}

/** The offset where the line holding `at` begins. */
export function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}
