import { isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from './errors.ts';

/** Checks for every value that reaches the engine, `ip` or a file name. Each throws one clear line. */

const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// registry[:port]/path[:tag][@sha256:digest], lower-case path components as Docker requires.
const IMAGE_REFERENCE =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interfaceName(value: string, what: string): string {
  if (!INTERFACE_NAME.test(value) || value === '.' || value === '..') {
    throw new InvalidInputError(`${what} "${printable(value)}" is not a valid interface name (letters, digits, _ . -, at most 15)`);
  }
  return value;
}

export function macAddress(value: string, what: string): string {
  if (!MAC.test(value)) throw new InvalidInputError(`${what} "${printable(value)}" is not a MAC address`);
  const first = parseInt(value.slice(0, 2), 16);
  if (first & 1) throw new InvalidInputError(`${what} ${value} is a multicast MAC address`);
  return value.toLowerCase();
}

export function ipv4(value: string, what: string): string {
  if (!isIPv4(value)) throw new InvalidInputError(`${what} "${printable(value)}" is not an IPv4 address`);
  return value;
}

export function ipv6(value: string, what: string): string {
  if (!isIPv6(value)) throw new InvalidInputError(`${what} "${printable(value)}" is not an IPv6 address`);
  return value;
}

export function ipAddress(value: string, what: string): string {
  if (!isIPv4(value) && !isIPv6(value)) throw new InvalidInputError(`${what} "${printable(value)}" is not an IP address`);
  return value;
}

export function hostname(value: string, what: string): string {
  if (!HOSTNAME.test(value)) throw new InvalidInputError(`${what} "${printable(value)}" is not a valid hostname`);
  return value;
}

export function imageReference(value: string, what: string): string {
  if (value.length > 512 || !IMAGE_REFERENCE.test(value)) {
    throw new InvalidInputError(`${what} "${printable(value)}" is not a valid image reference`);
  }
  return value;
}

export function envName(value: string, what: string): string {
  if (!ENV_NAME.test(value)) throw new InvalidInputError(`${what} "${printable(value)}" is not a valid environment variable name`);
  return value;
}

/** Text that goes into an argv or environment: no NUL bytes, bounded length. */
export function plainText(value: string, what: string, maxLength = 65536): string {
  if (value.includes('\0')) throw new InvalidInputError(`${what} contains a NUL byte`);
  if (value.length > maxLength) throw new InvalidInputError(`${what} is longer than ${maxLength} characters`);
  return value;
}

export function nonNegativeInteger(value: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  return wholeNumber(value, what, 0, max);
}

/** Digits only, from `min` (0 or more) to `max`: no sign, no fraction, no exponent, no hexadecimal. */
export function wholeNumber(value: string, what: string, min: number, max: number): number {
  if (!/^[0-9]{1,15}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InvalidInputError(`${what} "${printable(value)}" is not a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

export function positiveNumber(value: string, what: string, max: number): number {
  if (!/^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(value) || Number(value) <= 0 || Number(value) > max) {
    throw new InvalidInputError(`${what} "${printable(value)}" is not a number above 0 and at most ${max}`);
  }
  return Number(value);
}

/** The prefix length of an address a NIC can have: /0 would put the whole address space on the link. */
export function prefixLength(value: number, family: 4 | 6, what: string): number {
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new InvalidInputError(`${what} is ${value}, not a usable prefix length (1 to ${max})`);
  return value;
}

/**
 * A route a NIC's network gives: `destination` is a network (`10.1.0.0/16`, `2001:db8:1::/48`), an address (a host
 * route) or `default`; `via` a gateway of the same family. A destination with host bits set is refused, as `ip` would.
 */
export function route(destination: string, via: string, what: string): { destination: string; prefixLength: number; via: string } {
  const [network = '', prefixText, ...more] = destination === 'default' ? ['0.0.0.0', '0'] : destination.split('/');
  const family = isIPv4(network) ? 4 : isIPv6(network) ? 6 : undefined;
  const max = family === 6 ? 128 : 32;
  if (!family || more.length || (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) || Number(prefixText ?? max) > max) {
    throw new InvalidInputError(`${what} "${printable(destination)}" is not a network (address/prefix length)`);
  }
  const prefixLength = Number(prefixText ?? max);
  const gateway = family === 4 ? ipv4(via, `${what} gateway`) : ipv6(via, `${what} gateway`);
  if (family === 4 && prefixLength < 32 && (ipv4Number(network) & (2 ** (32 - prefixLength) - 1)) !== 0) {
    throw new InvalidInputError(`${what} ${network}/${prefixLength} has host bits set (the network is not ${network})`);
  }
  return { destination: network, prefixLength, via: gateway };
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

/** A short, single-line rendering of untrusted text for error messages. */
export function printable(value: string): string {
  const flat = value.replace(/[^\x20-\x7e]/g, '?');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
