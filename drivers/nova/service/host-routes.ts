import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AvailableResource, HostQuery, Inventory, Uptime } from '../api-schemas.ts';
import type { ComputeHost, ComputeHosts } from '../compute-hosts.ts';
import { HostCpuStats } from '../diagnostics-schemas.ts';
import { hostCpuStats } from '../host-cpu-stats.ts';
import { onHost } from '../host-reach.ts';
import { availableResource, hostUptime, inventory } from '../host-resources.ts';
import { errorAnswers } from './error-schemas.ts';

/** /v1/host/*?host=<name>: what Nova's resource tracker and Placement need to know about one node (the first by default). */
export function hostRoutes(hosts: ComputeHosts): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['host'];
    const querystring = HostQuery;
    const on = <T>(name: string | undefined, work: (host: ComputeHost) => Promise<T>) => {
      const host = hosts.named(name);
      return onHost(host.name, () => work(host));
    };
    app.get(
      '/host/resources',
      { schema: { tags, summary: 'get_available_resource', querystring, response: { 200: AvailableResource, ...errorAnswers } } },
      (request) => on(request.query.host, (host) => availableResource(host.services)),
    );
    app.get(
      '/host/inventory',
      { schema: { tags, summary: 'provider tree inventory: VCPU, MEMORY_MB, DISK_GB', querystring, response: { 200: Inventory, ...errorAnswers } } },
      (request) => on(request.query.host, async (host) => inventory(await availableResource(host.services))),
    );
    app.get('/host/uptime', { schema: { tags, summary: 'get_host_uptime', querystring, response: { 200: Uptime, ...errorAnswers } } }, (request) =>
      on(request.query.host, (host) => hostUptime(host.services.access)),
    );
    app.get(
      '/host/cpu-stats',
      { schema: { tags, summary: 'get_host_cpu_stats: CPU times since boot and frequency', querystring, response: { 200: HostCpuStats, ...errorAnswers } } },
      (request) => on(request.query.host, (host) => hostCpuStats(host.services.access)),
    );
  };
}
