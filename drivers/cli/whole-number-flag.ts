import { InvalidInputError } from '../core/errors.ts';
import { wholeNumber } from '../core/validate.ts';

/**
 * A yargs `coerce` for a flag that takes a whole number. It reads the text as typed (yargs' own numbers turn
 * "abc" into NaN and keep "1.5" or "1e3"), so a bad value is refused before the command does anything.
 * `none` is the one value outside the range that is accepted too: it says "not set" (`--cluster -1`).
 */
export function wholeNumberFlag(flag: string, range: { min?: number; max: number; none?: number }): (value: unknown) => number {
  return (value) => {
    if (Array.isArray(value)) throw new InvalidInputError(`${flag} is given more than once`);
    const text = String(value);
    if (range.none !== undefined && text === String(range.none)) return range.none;
    return wholeNumber(text, flag, range.min ?? 0, range.max);
  };
}
