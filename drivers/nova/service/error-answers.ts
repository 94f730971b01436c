import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorKind } from '../../core/errors.ts';

type ErrorCode = 'invalid_input' | 'not_found' | 'conflict' | 'too_large' | 'not_supported' | 'unavailable' | 'internal';

/** Errors as an HTTP status and `{error, message}`, the code being what the Nova shim maps to its exceptions. */
export function errorAnswer(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const [status, code] = classify(error);
  if (status === 503) request.log.warn({ err: error }, 'host unavailable');
  else if (status >= 500 && status !== 501) request.log.error({ err: error }, 'request failed');
  const message = (error.message || code).replace(/\s*\n\s*/g, ' ');
  return reply.code(status).send({ error: code, message });
}

function classify(error: FastifyError | Error): [number, ErrorCode] {
  switch (errorKind(error)) {
    case 'not-found':
      return [404, 'not_found'];
    case 'conflict':
      return [409, 'conflict'];
    case 'not-supported':
      return [501, 'not_supported'];
    case 'unavailable':
      return [503, 'unavailable'];
    case 'invalid':
      return [400, 'invalid_input'];
  }
  const status = (error as FastifyError).statusCode;
  if (status === 413) return [413, 'too_large'];
  if (status !== undefined && status >= 400 && status < 500) return [status, 'invalid_input'];
  return [500, 'internal'];
}
