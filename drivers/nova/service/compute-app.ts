import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { ComputeHosts, type NamedHost } from '../compute-hosts.ts';
import type { NovaOptions } from '../nova-instances.ts';
import { bearerAuth } from './auth.ts';
import { errorAnswer } from './error-answers.ts';
import { hostRoutes } from './host-routes.ts';
import { imageRoutes } from './image-routes.ts';
import { instanceRoutes } from './instance-routes.ts';
import { moveRoutes } from './move-routes.ts';

export interface ComputeAppOptions extends NovaOptions {
  token: string;
  /** The hosts it manages; the first is where spawns and host questions go when no host is named. */
  hosts: NamedHost[];
  logger?: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
}

/** The compute service: bearer auth, TypeBox-validated routes under /v1, errors as status + JSON, /openapi.json. */
export async function computeApp(options: ComputeAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 512 * 1024,
    // Refuse what the schemas do not allow instead of quietly dropping or converting it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(swagger, {
    openapi: {
      info: { title: 'dockvisor compute service', version: '1', description: "Nova's ComputeDriver verbs over Docker containers named nova-<uuid>" },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.setErrorHandler(errorAnswer);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no such route: ${request.method} ${request.url.split('?')[0]}` }),
  );
  app.addHook('onRequest', bearerAuth(options.token));
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  const hosts = new ComputeHosts(options.hosts, options);
  await app.register(instanceRoutes(hosts), { prefix: '/v1' });
  await app.register(moveRoutes(hosts), { prefix: '/v1' });
  await app.register(hostRoutes(hosts), { prefix: '/v1' });
  await app.register(imageRoutes(hosts), { prefix: '/v1' });
  return app;
}
