import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../core/errors.ts';

export interface OneEndpoint {
  url: string;
  /** `user:password` (or `user:token`), as oned expects it as every call's first parameter. */
  session: string;
}

/**
 * Where OpenNebula's own tools find the endpoint and credentials: `ONE_XMLRPC`, then the default
 * http://localhost:2633/RPC2; `ONE_AUTH` (a file), then ~/.one/one_auth. Explicit values win.
 */
export function oneEndpoint(explicit: { url?: string; session?: string } = {}, env: NodeJS.ProcessEnv = process.env): OneEndpoint {
  const url = explicit.url ?? env.ONE_XMLRPC ?? 'http://localhost:2633/RPC2';
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new InvalidInputError(`OpenNebula endpoint "${url.slice(0, 80)}" is not an http(s) URL`);
  if (explicit.session) return { url, session: checkedSession(explicit.session, 'the given credentials') };
  const authFile = env.ONE_AUTH ?? join(homedir(), '.one', 'one_auth');
  if (!existsSync(authFile)) throw new InvalidInputError(`no OpenNebula credentials: set ONE_AUTH or create ${authFile} (user:password)`);
  return { url, session: checkedSession(readFileSync(authFile, 'utf8').split('\n')[0]!.trim(), authFile) };
}

function checkedSession(session: string, source: string): string {
  // Never echo the secret itself: only say where it came from and what is wrong.
  if (!/^[^:\s]+:\S+$/.test(session)) throw new InvalidInputError(`${source} does not hold user:password`);
  return session;
}
