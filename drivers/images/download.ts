import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { dump, request } from './registry/http-request.ts';
import { InvalidInputError } from '../core/errors.ts';

/** Fetches an http(s) URL into `target`, following a few redirects; the server's word on size is checked. */
export async function downloadTo(url: URL, target: string, timeoutMs: number): Promise<void> {
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    let response;
    try {
      response = await request(current, { method: 'GET', timeoutMs });
    } catch (error) {
      throw new InvalidInputError(`cannot download ${current.origin}${current.pathname}: ${(error as Error).message}`);
    }
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(response.statusCode) && typeof location === 'string') {
      await dump(response);
      current = new URL(location, current);
      if (current.protocol !== 'http:' && current.protocol !== 'https:')
        throw new InvalidInputError('the download was redirected to a URL that is not http(s)');
      continue;
    }
    if (response.statusCode !== 200) {
      await dump(response);
      throw new InvalidInputError(`cannot download ${current.origin}${current.pathname}: the server answered ${response.statusCode}`);
    }
    const expected = Number(response.headers['content-length'] ?? NaN);
    let received = 0;
    response.body.on('data', (chunk: Buffer) => (received += chunk.length));
    try {
      await pipeline(response.body, createWriteStream(target));
    } catch (error) {
      throw new InvalidInputError(`the download of ${current.origin}${current.pathname} broke off: ${(error as Error).message}`);
    }
    if (Number.isFinite(expected) && received !== expected)
      throw new InvalidInputError(`the download of ${current.origin}${current.pathname} is truncated (${received} of ${expected} bytes)`);
    return;
  }
  throw new InvalidInputError(`cannot download ${url.origin}${url.pathname}: too many redirects`);
}

/** The size the server announces for a URL, if it does. */
export async function announcedSize(url: URL, timeoutMs: number): Promise<number | undefined> {
  try {
    const response = await request(url, { method: 'HEAD', timeoutMs });
    await dump(response);
    const length = Number(response.headers['content-length']);
    return response.statusCode === 200 && Number.isFinite(length) ? length : undefined;
  } catch (error) {
    throw new InvalidInputError(`cannot reach ${url.origin}${url.pathname}: ${(error as Error).message}`);
  }
}
