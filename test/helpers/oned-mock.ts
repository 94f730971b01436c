import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { xmlrpc } from './paths.ts';

export const ONED = 'http://oned.test:2633';
export const SESSION = 'oneadmin:SECRET';

export const recordedRequest = (name: string) => readFileSync(join(xmlrpc, `${name}.request.xml`), 'utf8');
export const recordedResponse = (name: string) => readFileSync(join(xmlrpc, `${name}.response.xml`), 'utf8');

/** The call a request body makes, with integer tags and whitespace made alike so equal calls compare equal. */
export function callOf(body: string): string {
  return body
    .replace(/<\?xml[^>]*\?>/, '')
    .replace(/<(\/?)(int|i4)>/g, '<$1int>')
    .replace(/>\s+</g, '><')
    .trim();
}

/** oned answering one recorded exchange: only the very call that was recorded gets the recorded answer. */
export function replay(name: string, times = 1): nock.Scope {
  const expected = callOf(recordedRequest(name));
  return nock(ONED)
    .post('/RPC2', (body: string) => callOf(typeof body === 'string' ? body : JSON.stringify(body)) === expected)
    .times(times)
    .reply(200, recordedResponse(name), { 'Content-Type': 'text/xml' });
}
