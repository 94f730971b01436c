import { InvalidInputError } from '../core/errors.ts';

/**
 * Splits a template value into argv words the way a shell would quote them (single quotes, double quotes,
 * backslash), without ever running a shell and without any expansion: `$(...)`, `;` and globs stay literal text.
 */
export function splitWords(value: string, what: string): string[] {
  if (/[\n\r]/.test(value)) throw new InvalidInputError(`${what} must be a single line`);
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < value.length && '"\\$`'.includes(value[i + 1]!)) current += value[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < value.length) {
      current += value[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new InvalidInputError(`${what} has an unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(current);
  if (words.length === 0) throw new InvalidInputError(`${what} is empty`);
  return words;
}
