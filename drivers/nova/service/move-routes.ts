import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { FinishMigrationRequest, InstanceInfo, InstanceParams, MigrateAnswer, MigrateRequest, RevertMigrationRequest } from '../api-schemas.ts';
import type { ComputeHosts } from '../compute-hosts.ts';
import { InstanceMoves } from '../instance-moves.ts';
import { errorAnswers } from './error-schemas.ts';

/** /v1/instances/{uuid}/migration...: resize and cold migration, the four ComputeDriver verbs, one route each. */
export function moveRoutes(hosts: ComputeHosts): FastifyPluginAsyncTypebox {
  return async (app) => {
    const moves = new InstanceMoves(hosts);
    const tags = ['instances'];
    const info = { 200: InstanceInfo, ...errorAnswers };
    const done = { 204: { type: 'null', description: 'done' }, ...errorAnswers };

    app.post(
      '/instances/:uuid/migration',
      {
        schema: {
          tags,
          summary: "migrate_disk_and_power_off: stop and save the filesystem (to the registry for another host); answers finish_migration's disk_info",
          params: InstanceParams,
          body: MigrateRequest,
          response: { 200: MigrateAnswer, ...errorAnswers },
        },
      },
      async (request) => ({ disk_info: await moves.migrate(request.params.uuid, request.body) }),
    );

    app.post(
      '/instances/:uuid/migration/finish',
      {
        schema: {
          tags,
          summary: 'finish_migration: the instance made again on the destination with the new flavor, its VIFs plugged; the source kept aside',
          params: InstanceParams,
          body: FinishMigrationRequest,
          response: info,
        },
      },
      (request) => moves.finish(request.params.uuid, request.body),
    );

    app.post(
      '/instances/:uuid/migration/confirm',
      {
        schema: {
          tags,
          summary: 'confirm_migration: the source container kept aside and the saved filesystem go',
          params: InstanceParams,
          response: done,
        },
      },
      async (request, reply) => {
        await moves.confirm(request.params.uuid);
        return reply.code(204).send();
      },
    );

    app.post(
      '/instances/:uuid/migration/revert',
      {
        schema: {
          tags,
          summary: 'finish_revert_migration: the new container goes, the source is the instance again, started when power_on',
          params: InstanceParams,
          body: RevertMigrationRequest,
          response: info,
        },
      },
      (request) => moves.revert(request.params.uuid, request.body),
    );
  };
}
