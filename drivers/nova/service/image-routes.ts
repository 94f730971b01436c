import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ImageLoadAnswer, ImageLoadQuery } from '../api-schemas.ts';
import type { ComputeHosts } from '../compute-hosts.ts';
import { onHost } from '../host-reach.ts';
import { errorAnswers } from './error-schemas.ts';

/** /v1/images: a Glance image's `docker save` data loaded on a host, for spawn to boot from. */
export function imageRoutes(hosts: ComputeHosts): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The archive is streamed through, never held in memory: no body limit applies to it.
    app.addContentTypeParser('application/x-tar', (_request, payload, done) => done(null, payload));
    app.post(
      '/images',
      {
        schema: {
          tags: ['images'],
          summary: 'spawn from a Glance image: load its `docker save` archive (application/x-tar) on the given host, or the first',
          querystring: ImageLoadQuery,
          response: { 201: ImageLoadAnswer, ...errorAnswers },
        },
      },
      async (request, reply) => {
        const host = hosts.named(request.query.host);
        const archive = request.body as NodeJS.ReadableStream;
        const image = await onHost(host.name, () => host.instances.loadImage(archive, request.query.image_id));
        return reply.code(201).send({ image });
      },
    );
  };
}
