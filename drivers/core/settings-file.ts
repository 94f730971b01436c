import { existsSync, readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { InvalidInputError } from './errors.ts';

/**
 * The one reader of dockvisor's JSON settings files (a host's settings, the transfer actions' config). The file is
 * checked whole against its TypeBox schema; the first problem becomes one line naming the file and the key, with
 * what the key must be: the `expected` option of the key's schema ("a whole number", `"pause" or "stop"`), or the
 * keys an object knows for a key it does not. Objects in the file are laid over the defaults key by key.
 */
export function readSettingsFile<T extends object>(path: string | undefined, what: string, schema: TSchema, defaults: T): T {
  if (!path || !existsSync(path)) return defaults;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidInputError(`${what} ${path}: ${(error as Error).message}`);
  }
  const problem = settingsProblem(schema, raw);
  if (problem) throw new InvalidInputError(`${what} ${path}: ${problem}`);
  return layered(defaults, raw) as T;
}

/** `key must be ...` for the first thing in `raw` the schema refuses, or undefined when it takes it all. */
export function settingsProblem(schema: TSchema, raw: unknown): string | undefined {
  const errors = Value.Errors(schema, raw).filter((error) => error.keyword !== 'boolean');
  const error = errors.find((each) => each.keyword === 'additionalProperties') ?? errors[0];
  if (!error) return undefined;
  const path = arrayAt(schema, error.instancePath.split('/').slice(1));
  if (error.keyword === 'additionalProperties') {
    const unknown = (error.params as { additionalProperties: string[] }).additionalProperties[0] ?? '';
    const known = Object.keys((schemaAt(schema, path) as { properties?: object }).properties ?? {});
    return `${keyName([...path, unknown])} must be one of ${known.join(', ')}`;
  }
  const expected = (schemaAt(schema, path) as { expected?: string }).expected ?? error.message.replace(/^must be /, '');
  return `${keyName(path)} must be ${expected}`;
}

/** The path cut at the first list: an item's problem is its list's ("a list of strings"). */
function arrayAt(schema: TSchema, path: string[]): string[] {
  for (let length = 0; length < path.length; length++)
    if ((schemaAt(schema, path.slice(0, length)) as { type?: string }).type === 'array') return path.slice(0, length);
  return path;
}

function keyName(path: string[]): string {
  return path.length === 0 ? 'the file' : path.join('.');
}

/** The schema of the value at `path`, through objects' properties and records' pattern properties. */
function schemaAt(schema: TSchema, path: string[]): TSchema {
  let at = schema as TSchema & { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema> };
  for (const key of path) {
    const next = at.properties?.[key] ?? Object.values(at.patternProperties ?? {})[0];
    if (!next) return at;
    at = next;
  }
  return at;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `raw` over `defaults`: objects merged key by key, anything else replaced. */
function layered(defaults: unknown, raw: unknown): unknown {
  if (!isRecord(defaults) || !isRecord(raw)) return raw === undefined ? defaults : raw;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(raw)) merged[key] = layered(defaults[key], value);
  return merged;
}
