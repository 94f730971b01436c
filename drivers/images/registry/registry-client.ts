import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { ConnectionPool, bytesOf, dump, header, jsonOf, request, textOf, type HttpResponse } from './http-request.ts';
import { RegistryAuth, type RegistryCredentials } from './registry-auth.ts';
import { RegistryError, RegistryNotFoundError } from './registry-errors.ts';
import { DIGEST } from './image-name.ts';
import { MANIFEST_ACCEPT } from './media-types.ts';

/** Where a registry is and how to talk to it. */
export interface RegistryEndpoint {
  /** host[:port] */
  address: string;
  tls: boolean;
  credentials?: RegistryCredentials;
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

interface RegistryCall {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below /v2/, or a full upload URL the registry handed out. */
  path: string;
  repository?: string;
  push?: boolean;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  expect: number[];
  subject: string;
  timeoutMs?: number;
}

/** The distribution (v2) API of one registry: manifests, blobs, tags, deletes. */
export class RegistryClient {
  private readonly pool = new ConnectionPool();
  private readonly auth: RegistryAuth;
  private readonly base: string;

  constructor(
    readonly endpoint: RegistryEndpoint,
    private readonly timeoutMs = 60_000,
  ) {
    this.auth = new RegistryAuth(endpoint.address, endpoint.credentials, this.pool, timeoutMs);
    this.base = `${endpoint.tls ? 'https' : 'http'}://${endpoint.address}`;
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  describe(): string {
    return `registry ${this.endpoint.address}`;
  }

  async ping(): Promise<void> {
    await this.call({ method: 'GET', path: '', expect: [200], subject: this.describe() });
  }

  /** Fetches a manifest and checks that its bytes are what the registry (or the asked digest) says they are. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const subject = `image ${this.endpoint.address}/${repository}:${reference}`;
    const response = await this.call({
      method: 'GET',
      path: `${repository}/manifests/${reference}`,
      repository,
      headers: { accept: MANIFEST_ACCEPT },
      expect: [200],
      subject,
    });
    const body = await bytesOf(response);
    if (body.length > 4 * 1024 * 1024) throw new RegistryError(`${subject}: the manifest is larger than 4 MB; refused`);
    const digest = sha256(body);
    const claimed = header(response, 'docker-content-digest');
    if (DIGEST.test(reference) && reference !== digest)
      throw new RegistryError(`${subject}: the registry sent a manifest whose digest is ${digest}, not the one asked for`);
    if (claimed && claimed !== digest) throw new RegistryError(`${subject}: the registry says the manifest is ${claimed} but its content is ${digest}`);
    let mediaType = (header(response, 'content-type') ?? '').split(';')[0]!.trim();
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: unknown };
      if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
    } catch {
      throw new RegistryError(`${subject}: the manifest is not JSON`);
    }
    return { mediaType, digest, body };
  }

  /** The digest a tag or digest points at, or undefined when the repository has no such manifest. */
  async resolveManifest(repository: string, reference: string): Promise<string | undefined> {
    try {
      const response = await this.call({
        method: 'HEAD',
        path: `${repository}/manifests/${reference}`,
        repository,
        headers: { accept: MANIFEST_ACCEPT },
        expect: [200],
        subject: `image ${repository}:${reference}`,
      });
      await dump(response);
      return header(response, 'docker-content-digest');
    } catch (error) {
      if (error instanceof RegistryNotFoundError) return undefined;
      throw error;
    }
  }

  async putManifest(repository: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const response = await this.call({
      method: 'PUT',
      path: `${repository}/manifests/${reference}`,
      repository,
      push: true,
      headers: { 'content-type': mediaType },
      body,
      expect: [201],
      subject: `image ${this.endpoint.address}/${repository}:${reference}`,
    });
    await dump(response);
    return sha256(body);
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    const response = await this.call({
      method: 'DELETE',
      path: `${repository}/manifests/${digest}`,
      repository,
      push: true,
      expect: [202],
      subject: `image ${repository}@${digest}`,
    });
    await dump(response);
  }

  async listTags(repository: string): Promise<string[]> {
    try {
      const response = await this.call({ method: 'GET', path: `${repository}/tags/list`, repository, expect: [200], subject: `repository ${repository}` });
      const body = (await jsonOf(response)) as { tags?: string[] | null };
      return body.tags ?? [];
    } catch (error) {
      if (error instanceof RegistryNotFoundError) return [];
      throw error;
    }
  }

  async catalog(): Promise<string[]> {
    const all: string[] = [];
    for (;;) {
      const last = all.length ? `&last=${encodeURIComponent(all[all.length - 1]!)}` : '';
      const response = await this.call({ method: 'GET', path: `_catalog?n=1000${last}`, expect: [200], subject: `${this.describe()} catalog` });
      const page = ((await jsonOf(response)) as { repositories?: string[] | null }).repositories ?? [];
      all.push(...page);
      if (page.length < 1000) return all;
    }
  }

  /** The blob's size when the repository has it. */
  async blobSize(repository: string, digest: string): Promise<number | undefined> {
    try {
      const response = await this.call({ method: 'HEAD', path: `${repository}/blobs/${digest}`, repository, expect: [200], subject: `blob ${digest}` });
      await dump(response);
      return Number(header(response, 'content-length') ?? 0);
    } catch (error) {
      if (error instanceof RegistryNotFoundError) return undefined;
      throw error;
    }
  }

  /** Streams a blob; the caller checks its digest as it reads (see uploadBlob, which the receiving registry verifies). */
  async openBlob(repository: string, digest: string): Promise<Readable> {
    const response = await this.call({
      method: 'GET',
      path: `${repository}/blobs/${digest}`,
      repository,
      expect: [200],
      subject: `blob ${digest} of ${repository}`,
      timeoutMs: this.timeoutMs * 10,
    });
    return response.body;
  }

  async readBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await this.openBlob(repository, digest)) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw new RegistryError(`blob ${digest} of ${repository} is larger than ${maxBytes} bytes; refused`);
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    if (sha256(body) !== digest) throw new RegistryError(`blob ${digest} of ${repository}: the registry sent content with another digest`);
    return body;
  }

  /** Links a blob another repository of this registry holds; false when the registry will not mount it. */
  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    const response = await this.call({
      method: 'POST',
      path: `${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      repository,
      push: true,
      expect: [201, 202],
      subject: `blob ${digest} of ${repository}`,
    });
    await dump(response);
    if (response.statusCode === 201) return true;
    const location = header(response, 'location');
    if (location) await this.cancelUpload(repository, location);
    return false;
  }

  /**
   * Uploads a blob whose digest is known beforehand: a buffer in one request (monolithic), a stream as one
   * streamed chunk then the closing request. The registry refuses content that does not match the digest.
   */
  async uploadBlob(repository: string, digest: string, content: Buffer | Readable): Promise<void> {
    const location = await this.startUpload(repository);
    const subject = `blob ${digest} of ${repository}`;
    try {
      const target = Buffer.isBuffer(content) ? location : await this.sendChunk(repository, location, content, subject);
      const body = Buffer.isBuffer(content) ? content : Buffer.alloc(0);
      const done = await this.call({
        method: 'PUT',
        path: withQuery(target, 'digest', digest),
        repository,
        push: true,
        body,
        headers: { 'content-type': 'application/octet-stream' },
        expect: [201],
        subject,
      });
      await dump(done);
    } catch (error) {
      await this.cancelUpload(repository, location);
      throw error;
    }
  }

  /** Uploads a stream whose digest is computed as it flows (a layer compressed on the fly); returns digest and size. */
  async uploadStream(repository: string, content: Readable): Promise<{ digest: string; size: number }> {
    const location = await this.startUpload(repository);
    const hash = createHash('sha256');
    let size = 0;
    const measured = content.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }),
    );
    content.once('error', (error) => measured.destroy(error));
    const subject = `a new blob of ${repository}`;
    try {
      const target = await this.sendChunk(repository, location, measured, subject);
      const digest = `sha256:${hash.digest('hex')}`;
      const done = await this.call({
        method: 'PUT',
        path: withQuery(target, 'digest', digest),
        repository,
        push: true,
        body: Buffer.alloc(0),
        headers: { 'content-type': 'application/octet-stream' },
        expect: [201],
        subject,
      });
      await dump(done);
      return { digest, size };
    } catch (error) {
      await this.cancelUpload(repository, location);
      throw error;
    }
  }

  async deleteBlob(repository: string, digest: string): Promise<void> {
    try {
      const response = await this.call({
        method: 'DELETE',
        path: `${repository}/blobs/${digest}`,
        repository,
        push: true,
        expect: [202],
        subject: `blob ${digest} of ${repository}`,
      });
      await dump(response);
    } catch (error) {
      if (!(error instanceof RegistryNotFoundError)) throw error;
    }
  }

  private async startUpload(repository: string): Promise<string> {
    const response = await this.call({
      method: 'POST',
      path: `${repository}/blobs/uploads/`,
      repository,
      push: true,
      expect: [202],
      subject: `an upload to ${repository}`,
    });
    await dump(response);
    const location = header(response, 'location');
    if (!location) throw new RegistryError(`${this.describe()} started an upload to ${repository} without saying where`);
    return location;
  }

  private async sendChunk(repository: string, location: string, content: Buffer | Readable, subject: string): Promise<string> {
    const response = await this.call({
      method: 'PATCH',
      path: location,
      repository,
      push: true,
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
      expect: [202],
      subject,
      timeoutMs: this.timeoutMs * 10,
    });
    await dump(response);
    return header(response, 'location') ?? location;
  }

  private async cancelUpload(repository: string, location: string): Promise<void> {
    await this.call({ method: 'DELETE', path: location, repository, push: true, expect: [204, 404], subject: 'an unfinished upload' })
      .then((response) => dump(response))
      .catch(() => undefined);
  }

  private async call(call: RegistryCall): Promise<HttpResponse> {
    const url = this.urlFor(call.path);
    const scope = call.repository ? `repository:${call.repository}:${call.push ? 'pull,push' : 'pull'}` : '';
    const headers: Record<string, string> = { ...call.headers };
    const known = this.auth.known(scope);
    if (known) headers.authorization = known;
    let response = await this.send(url, call, headers);
    if (response.statusCode === 401) {
      await dump(response);
      if (call.body && !Buffer.isBuffer(call.body)) {
        // A stream cannot be sent twice: get the credentials with an empty request first.
        throw new RegistryError(`${call.subject}: ${this.describe()} asked for authentication in the middle of an upload`, 401);
      }
      headers.authorization = await this.auth.answer(response.headers['www-authenticate'], scope);
      response = await this.send(url, call, headers);
      if (response.statusCode === 401) {
        await dump(response);
        throw new RegistryError(`${call.subject}: ${this.describe()} refused the credentials; check REGISTRY_CREDENTIALS`, 401);
      }
    }
    if (call.expect.includes(response.statusCode)) return response;
    const detail = await errorDetail(response);
    if (response.statusCode === 404) throw new RegistryNotFoundError(`${call.subject} not found in ${this.describe()}${detail}`);
    throw new RegistryError(`${call.subject}: ${this.describe()} answered ${response.statusCode}${detail}`, response.statusCode);
  }

  /** Sends once, following a registry's redirect to its blob storage for reads (without our credentials). */
  private async send(url: URL, call: RegistryCall, headers: Record<string, string>): Promise<HttpResponse> {
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    let target = url;
    let sendHeaders = headers;
    for (let hop = 0; hop < 4; hop++) {
      let response: HttpResponse;
      try {
        response = await request(target, { method: call.method, headers: sendHeaders, body: call.body, pool: this.pool, timeoutMs });
      } catch (error) {
        throw new RegistryError(`${call.subject}: cannot reach ${this.describe()}: ${(error as Error).message}`);
      }
      const location = header(response, 'location');
      if ((call.method === 'GET' || call.method === 'HEAD') && [301, 302, 303, 307, 308].includes(response.statusCode) && location) {
        await dump(response);
        const next = new URL(location, target);
        if (next.origin !== this.base) sendHeaders = { ...headers, authorization: '' };
        if (!sendHeaders.authorization) delete sendHeaders.authorization;
        target = next;
        continue;
      }
      return response;
    }
    throw new RegistryError(`${call.subject}: ${this.describe()} redirected too many times`);
  }

  private urlFor(path: string): URL {
    if (/^https?:\/\//.test(path) || path.startsWith('/')) {
      const url = new URL(path, this.base);
      if (url.origin !== this.base) throw new RegistryError(`${this.describe()} pointed an upload at another server (${url.host}); refused`);
      return url;
    }
    return new URL(`/v2/${path}`, this.base);
  }
}

export function sha256(content: Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function withQuery(location: string, key: string, value: string): string {
  const joiner = location.includes('?') ? '&' : '?';
  return `${location}${joiner}${key}=${encodeURIComponent(value)}`;
}

async function errorDetail(response: HttpResponse): Promise<string> {
  const text = (await textOf(response).catch(() => '')).slice(0, 2000);
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first) return `: ${[first.code, first.message].filter(Boolean).join(' ').slice(0, 200)}`;
  } catch {
    // not the registry's JSON error
  }
  return '';
}
