import { InvalidInputError } from '../core/errors.ts';
import * as check from '../core/validate.ts';
import type { NicRoute } from '../core/vm-spec.ts';

/** More than any virtual network has; a longer list is refused rather than handed to `ip` line by line. */
const MAX_ROUTES = 64;

/**
 * A virtual network's ROUTES (its NICs' ETH<n>_ROUTES context variable): comma-separated `<destination> via
 * <gateway>`, as the context package reads it, e.g. `10.0.0.0/16 via 192.168.1.1, 10.1.0.0/16 via 192.168.1.2`.
 */
export function parseRoutes(value: string | undefined, where: string): NicRoute[] {
  if (!value) return [];
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_ROUTES) throw new InvalidInputError(`${where}ROUTES has ${entries.length} routes; at most ${MAX_ROUTES} are taken`);
  return entries.map((entry) => {
    const words = entry.split(/\s+/);
    if (words.length !== 3 || words[1] !== 'via') {
      throw new InvalidInputError(`${where}ROUTES entry "${check.printable(entry)}" is not "<network> via <gateway>"`);
    }
    return check.route(words[0]!, words[2]!, `${where}ROUTES entry`);
  });
}
