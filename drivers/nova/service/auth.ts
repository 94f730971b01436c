import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Routes anyone may read: the API's description. */
const OPEN_PATHS = new Set(['/openapi.json']);

/** Every other request carries `Authorization: Bearer <token>`; compared in constant time. */
export function bearerAuth(token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = digest(token);
  return async (request, reply) => {
    if (OPEN_PATHS.has(request.url.split('?')[0]!)) return;
    const header = request.headers.authorization ?? '';
    const given = /^Bearer ([^\s]+)$/.exec(header)?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: 'unauthorized',
          message: given === undefined ? 'a bearer token is required (Authorization: Bearer <token>)' : 'the bearer token is not valid',
        });
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
