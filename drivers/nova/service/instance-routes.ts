import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AttachInterfaceRequest,
  ConsoleAnswer,
  HostQuery,
  InstanceInfo,
  InstanceList,
  InstanceParams,
  InterfaceParams,
  NetworkInfoRequest,
  PowerOffRequest,
  RebootRequest,
  RebuildAnswer,
  RebuildRequest,
  SnapshotAnswer,
  SnapshotRequest,
  SpawnRequest,
} from '../api-schemas.ts';
import type { ComputeHosts } from '../compute-hosts.ts';
import { InstanceDiagnostics } from '../diagnostics-schemas.ts';
import { requireRegistry } from '../nova-instances.ts';
import { errorAnswers } from './error-schemas.ts';

/** /v1/instances: Nova's ComputeDriver verbs on instances, one route each, on whichever host has the instance. */
export function instanceRoutes(hosts: ComputeHosts): FastifyPluginAsyncTypebox {
  return async (app) => {
    const info = { 200: InstanceInfo, ...errorAnswers };
    const done = { 204: { type: 'null', description: 'done' }, ...errorAnswers };
    const tags = ['instances'];

    app.get(
      '/instances',
      {
        schema: {
          tags,
          summary: "list_instance_uuids and list_instances: Nova's instances on the given host, or on every host",
          querystring: HostQuery,
          response: { 200: InstanceList, ...errorAnswers },
        },
      },
      async (request) => {
        const listed = await hosts.list(request.query.host);
        return { uuids: listed.map((instance) => instance.uuid), names: Object.fromEntries(listed.flatMap(({ uuid, name }) => (name ? [[uuid, name]] : []))) };
      },
    );

    app.post(
      '/instances',
      { schema: { tags, summary: 'spawn, on the given host or the first', body: SpawnRequest, response: { 201: InstanceInfo, ...errorAnswers } } },
      async (request, reply) => reply.code(201).send(await hosts.spawnOn(request.body.host, request.body.uuid, (instances) => instances.spawn(request.body))),
    );

    app.get('/instances/:uuid', { schema: { tags, summary: 'get_info: the power state', params: InstanceParams, response: info } }, (request) =>
      hosts.onInstance(request.params.uuid, (instances) => instances.info(request.params.uuid)),
    );

    app.delete(
      '/instances/:uuid',
      { schema: { tags, summary: 'destroy (an instance already gone is no error)', params: InstanceParams, response: done } },
      async (request, reply) => {
        const uuid = request.params.uuid;
        const host = await hosts.locate(uuid);
        if (host) await hosts.onHostFor(host.name, uuid, (instances) => instances.destroy(uuid));
        hosts.forget(uuid);
        return reply.code(204).send();
      },
    );

    app.post(
      '/instances/:uuid/reboot',
      { schema: { tags, summary: 'reboot SOFT or HARD; ends RUNNING', params: InstanceParams, body: RebootRequest, response: info } },
      (request) => hosts.onInstance(request.params.uuid, (instances) => instances.reboot(request.params.uuid, request.body.type, request.body.network_info)),
    );

    app.post(
      '/instances/:uuid/power-off',
      { schema: { tags, summary: 'power_off', params: InstanceParams, body: PowerOffRequest, response: info } },
      (request) => hosts.onInstance(request.params.uuid, (instances) => instances.powerOff(request.params.uuid, request.body.timeout)),
    );

    app.post(
      '/instances/:uuid/power-on',
      { schema: { tags, summary: 'power_on', params: InstanceParams, body: NetworkInfoRequest, response: info } },
      (request) => hosts.onInstance(request.params.uuid, (instances) => instances.powerOn(request.params.uuid, request.body.network_info)),
    );

    app.post('/instances/:uuid/pause', { schema: { tags, summary: 'pause', params: InstanceParams, response: info } }, (request) =>
      hosts.onInstance(request.params.uuid, (instances) => instances.pause(request.params.uuid)),
    );
    app.post('/instances/:uuid/unpause', { schema: { tags, summary: 'unpause', params: InstanceParams, response: info } }, (request) =>
      hosts.onInstance(request.params.uuid, (instances) => instances.unpause(request.params.uuid)),
    );
    app.post('/instances/:uuid/suspend', { schema: { tags, summary: 'suspend (frozen in memory)', params: InstanceParams, response: info } }, (request) =>
      hosts.onInstance(request.params.uuid, (instances) => instances.suspend(request.params.uuid)),
    );

    app.post('/instances/:uuid/resume', { schema: { tags, summary: 'resume', params: InstanceParams, body: NetworkInfoRequest, response: info } }, (request) =>
      hosts.onInstance(request.params.uuid, (instances) => instances.resume(request.params.uuid, request.body.network_info)),
    );

    app.post(
      '/instances/:uuid/rebuild',
      {
        schema: {
          tags,
          summary: 'rebuild: a fresh root from a new image pinned by digest; uuid, VIFs, metadata kept, injected files written anew',
          params: InstanceParams,
          body: RebuildRequest,
          response: { 200: RebuildAnswer, ...errorAnswers },
        },
      },
      (request) => hosts.onInstance(request.params.uuid, (instances) => instances.rebuild(request.params.uuid, request.body)),
    );

    app.post(
      '/instances/:uuid/snapshot',
      {
        schema: {
          tags,
          summary: 'snapshot: commit and push to the registry',
          params: InstanceParams,
          body: SnapshotRequest,
          response: { 200: SnapshotAnswer, ...errorAnswers },
        },
      },
      async (request) => {
        requireRegistry(hosts.options);
        return { image: await hosts.onInstance(request.params.uuid, (instances) => instances.snapshot(request.params.uuid, request.body.image_id)) };
      },
    );

    app.post(
      '/instances/:uuid/snapshot/archive',
      {
        schema: {
          tags,
          summary:
            'snapshot for Glance: commit (and push when a registry is configured), answered as the `docker save` stream; ' +
            'headers x-dockvisor-image-id and, when pushed, x-dockvisor-docker-image',
          params: InstanceParams,
          body: SnapshotRequest,
          response: { 200: { description: 'the `docker save` archive (application/x-tar)' }, ...errorAnswers },
        },
      },
      async (request, reply) => {
        const snapshot = await hosts.onInstance(request.params.uuid, (instances) => instances.snapshotArchive(request.params.uuid, request.body.image_id));
        // Read to the end or cut off by the client, the committed image leaves the host: Glance and the registry keep it.
        const release = () => {
          (snapshot.archive as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
          void snapshot.release().catch((error: unknown) => request.log.warn({ err: error }, 'removing a snapshot image'));
        };
        // A client that gave up during the commit or push has closed already: no 'close' is coming.
        if (reply.raw.destroyed || request.raw.socket.destroyed) {
          release();
          return reply;
        }
        reply.raw.once('close', release);
        reply.header('content-type', 'application/x-tar').header('x-dockvisor-image-id', snapshot.imageId);
        if (snapshot.pinned) reply.header('x-dockvisor-docker-image', snapshot.pinned);
        return reply.send(snapshot.archive);
      },
    );

    app.post(
      '/instances/:uuid/interfaces',
      { schema: { tags, summary: 'attach_interface', params: InstanceParams, body: AttachInterfaceRequest, response: done } },
      async (request, reply) => {
        await hosts.onInstance(request.params.uuid, (instances) => instances.attachInterface(request.params.uuid, request.body.vif));
        return reply.code(204).send();
      },
    );

    app.delete(
      '/instances/:uuid/interfaces/:vifId',
      { schema: { tags, summary: 'detach_interface', params: InterfaceParams, response: done } },
      async (request, reply) => {
        await hosts.onInstance(request.params.uuid, (instances) => instances.detachInterface(request.params.uuid, request.params.vifId));
        return reply.code(204).send();
      },
    );

    app.get(
      '/instances/:uuid/console',
      { schema: { tags, summary: 'get_console_output: the container log', params: InstanceParams, response: { 200: ConsoleAnswer, ...errorAnswers } } },
      async (request) => ({
        output: await hosts.onInstance(request.params.uuid, (instances) => instances.consoleOutput(request.params.uuid)),
      }),
    );

    app.get(
      '/instances/:uuid/diagnostics',
      {
        schema: {
          tags,
          summary: 'get_diagnostics, get_instance_diagnostics, block_stats: counters, health, last exit',
          params: InstanceParams,
          response: { 200: InstanceDiagnostics, ...errorAnswers },
        },
      },
      (request) => hosts.onInstance(request.params.uuid, (instances) => instances.diagnostics(request.params.uuid)),
    );
  };
}
