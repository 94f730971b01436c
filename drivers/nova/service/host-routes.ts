import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HostServices } from '../../core/host-services.ts';
import { AvailableResource, Inventory, Uptime } from '../api-schemas.ts';
import { availableResource, hostUptime, inventory } from '../host-resources.ts';
import { errorAnswers } from './error-schemas.ts';

/** /v1/host: what Nova's resource tracker and Placement need to know about the node. */
export function hostRoutes(host: HostServices): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['host'];
    app.get('/host/resources', { schema: { tags, summary: 'get_available_resource', response: { 200: AvailableResource, ...errorAnswers } } }, () => availableResource(host));
    app.get('/host/inventory', { schema: { tags, summary: 'provider tree inventory: VCPU, MEMORY_MB, DISK_GB', response: { 200: Inventory, ...errorAnswers } } }, async () =>
      inventory(await availableResource(host)),
    );
    app.get('/host/uptime', { schema: { tags, summary: 'get_host_uptime', response: { 200: Uptime, ...errorAnswers } } }, () => hostUptime());
  };
}
