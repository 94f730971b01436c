import { InvalidInputError } from '../core/errors.ts';

export interface SshTarget {
  user: string;
  address: string;
  port: number;
}

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** `user@address[:port]`, `user@[v6]:port` or `address`; user defaults to root, port to 22. */
export function parseSshTarget(text: string): SshTarget {
  const fail = () => new InvalidInputError(`--ssh "${text.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')}" is not user@address[:port]`);
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : 'root';
  let rest = at >= 0 ? text.slice(at + 1) : text;
  let port = 22;
  let address: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw fail();
    address = rest.slice(1, close);
    rest = rest.slice(close + 1);
    if (rest) {
      if (!rest.startsWith(':')) throw fail();
      port = Number(rest.slice(1));
    }
    if (!IPV6.test(address) || !address.includes(':')) throw fail();
  } else {
    const colon = rest.indexOf(':');
    address = colon >= 0 ? rest.slice(0, colon) : rest;
    if (colon >= 0) port = Number(rest.slice(colon + 1));
    if (!IPV4.test(address) && !HOSTNAME.test(address)) throw fail();
  }
  if (!USER.test(user) || !Number.isInteger(port) || port < 1 || port > 65535) throw fail();
  return { user, address, port };
}

export function formatSshTarget({ user, address, port }: SshTarget): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${user}@${host}${port === 22 ? '' : `:${port}`}`;
}
