import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AttachInterfaceRequest,
  ConsoleAnswer,
  InstanceInfo,
  InstanceList,
  InstanceParams,
  InterfaceParams,
  NetworkInfoRequest,
  PowerOffRequest,
  RebootRequest,
  SnapshotAnswer,
  SnapshotRequest,
  SpawnRequest,
} from '../api-schemas.ts';
import type { NovaInstances } from '../nova-instances.ts';
import { errorAnswers } from './error-schemas.ts';

/** /v1/instances: Nova's ComputeDriver verbs on instances, one route each. */
export function instanceRoutes(instances: NovaInstances): FastifyPluginAsyncTypebox {
  return async (app) => {
    const info = { 200: InstanceInfo, ...errorAnswers };
    const done = { 204: { type: 'null', description: 'done' }, ...errorAnswers };
    const tags = ['instances'];

    app.get('/instances', { schema: { tags, summary: "list_instance_uuids: Nova's instances on the host", response: { 200: InstanceList, ...errorAnswers } } }, async () => ({
      uuids: await instances.list(),
    }));

    app.post('/instances', { schema: { tags, summary: 'spawn', body: SpawnRequest, response: { 201: InstanceInfo, ...errorAnswers } } }, async (request, reply) =>
      reply.code(201).send(await instances.spawn(request.body)),
    );

    app.get('/instances/:uuid', { schema: { tags, summary: 'get_info: the power state', params: InstanceParams, response: info } }, (request) =>
      instances.info(request.params.uuid),
    );

    app.delete('/instances/:uuid', { schema: { tags, summary: 'destroy (an instance already gone is no error)', params: InstanceParams, response: done } }, async (request, reply) => {
      await instances.destroy(request.params.uuid);
      return reply.code(204).send();
    });

    app.post('/instances/:uuid/reboot', { schema: { tags, summary: 'reboot SOFT or HARD; ends RUNNING', params: InstanceParams, body: RebootRequest, response: info } }, (request) =>
      instances.reboot(request.params.uuid, request.body.type, request.body.network_info),
    );

    app.post('/instances/:uuid/power-off', { schema: { tags, summary: 'power_off', params: InstanceParams, body: PowerOffRequest, response: info } }, (request) =>
      instances.powerOff(request.params.uuid, request.body.timeout),
    );

    app.post('/instances/:uuid/power-on', { schema: { tags, summary: 'power_on', params: InstanceParams, body: NetworkInfoRequest, response: info } }, (request) =>
      instances.powerOn(request.params.uuid, request.body.network_info),
    );

    app.post('/instances/:uuid/pause', { schema: { tags, summary: 'pause', params: InstanceParams, response: info } }, (request) => instances.pause(request.params.uuid));
    app.post('/instances/:uuid/unpause', { schema: { tags, summary: 'unpause', params: InstanceParams, response: info } }, (request) => instances.unpause(request.params.uuid));
    app.post('/instances/:uuid/suspend', { schema: { tags, summary: 'suspend (frozen in memory)', params: InstanceParams, response: info } }, (request) =>
      instances.suspend(request.params.uuid),
    );

    app.post('/instances/:uuid/resume', { schema: { tags, summary: 'resume', params: InstanceParams, body: NetworkInfoRequest, response: info } }, (request) =>
      instances.resume(request.params.uuid, request.body.network_info),
    );

    app.post(
      '/instances/:uuid/snapshot',
      { schema: { tags, summary: 'snapshot: commit and push to the registry', params: InstanceParams, body: SnapshotRequest, response: { 200: SnapshotAnswer, ...errorAnswers } } },
      async (request) => ({ image: await instances.snapshot(request.params.uuid, request.body.image_id) }),
    );

    app.post('/instances/:uuid/interfaces', { schema: { tags, summary: 'attach_interface', params: InstanceParams, body: AttachInterfaceRequest, response: done } }, async (request, reply) => {
      await instances.attachInterface(request.params.uuid, request.body.vif);
      return reply.code(204).send();
    });

    app.delete('/instances/:uuid/interfaces/:vifId', { schema: { tags, summary: 'detach_interface', params: InterfaceParams, response: done } }, async (request, reply) => {
      await instances.detachInterface(request.params.uuid, request.params.vifId);
      return reply.code(204).send();
    });

    app.get('/instances/:uuid/console', { schema: { tags, summary: 'get_console_output: the container log', params: InstanceParams, response: { 200: ConsoleAnswer, ...errorAnswers } } }, async (request) => ({
      output: await instances.consoleOutput(request.params.uuid),
    }));
  };
}
