import { request, textOf, type ConnectionPool, type HttpResponse } from './http-request.ts';
import { RegistryError } from './registry-errors.ts';

export interface RegistryCredentials {
  username: string;
  password: string;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Answers a registry's 401: Basic with the credentials, or a Bearer token fetched from the realm the
 * challenge names (anonymously when there are no credentials). Tokens are kept per scope for this process.
 */
export class RegistryAuth {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly registry: string,
    private readonly credentials: RegistryCredentials | undefined,
    private readonly pool: ConnectionPool,
    private readonly timeoutMs: number,
  ) {}

  /** The Authorization header to send before any challenge, if one is already known for this scope. */
  known(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token) return token;
    return undefined;
  }

  /** Reads a WWW-Authenticate header and returns the Authorization header to retry with. */
  async answer(header: string | string[] | undefined, scope: string): Promise<string> {
    const challenge = parseChallenge(Array.isArray(header) ? header[0] : header);
    if (challenge?.scheme === 'basic') {
      if (!this.credentials) throw new RegistryError(`registry ${this.registry} asks for credentials and none are configured (REGISTRY_CREDENTIALS)`, 401);
      const value = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
      this.tokens.set(scope, value);
      return value;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryError(`registry ${this.registry} refused access without a usable authentication challenge`, 401);
    }
    const value = `Bearer ${await this.fetchToken(challenge.params, scope)}`;
    this.tokens.set(scope, value);
    return value;
  }

  private async fetchToken(params: Record<string, string>, scope: string): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(params.realm!);
    } catch {
      throw new RegistryError(`registry ${this.registry} named a token service that is not a URL`, 401);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:')
      throw new RegistryError(`registry ${this.registry} named a token service that is not http(s)`, 401);
    if (params.service) realm.searchParams.set('service', params.service);
    const wanted = params.scope ?? scope;
    if (wanted) realm.searchParams.set('scope', wanted);
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    let response: HttpResponse;
    try {
      response = await request(realm, { method: 'GET', headers, pool: this.pool, timeoutMs: this.timeoutMs });
    } catch (error) {
      throw new RegistryError(`registry ${this.registry}: cannot reach its token service ${realm.host}: ${(error as Error).message}`);
    }
    const text = await textOf(response);
    if (response.statusCode !== 200) {
      throw new RegistryError(`registry ${this.registry}: its token service ${realm.host} refused (${response.statusCode}); check REGISTRY_CREDENTIALS`, 401);
    }
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new RegistryError(`registry ${this.registry}: its token service ${realm.host} did not answer JSON`, 401);
    }
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new RegistryError(`registry ${this.registry}: its token service ${realm.host} gave no token`, 401);
    return token;
  }
}

function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const match of header.slice(space + 1).matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params[match[1]!.toLowerCase()] = match[2]!;
  return { scheme, params };
}
