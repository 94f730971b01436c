import { readFileSync } from 'node:fs';
import { InvalidInputError } from '../../core/errors.ts';
import { loadHostSettings } from '../../core/host-settings.ts';
import { computeApp } from './compute-app.ts';
import { servedHosts, type HostChoice } from './served-hosts.ts';

export interface ServeOptions {
  listen: string;
  tokenFile?: string;
  /** The host config file (JSON), as the OpenNebula driver reads it. */
  hostConfig?: string;
  registry?: string;
  hosts: HostChoice;
}

/** `dockvisor compute serve`: the service on this machine's engine and the named hosts' until SIGINT or SIGTERM. */
export async function serveCompute(options: ServeOptions): Promise<void> {
  const token = readToken(options.tokenFile);
  const { host: address, port } = listenAddress(options.listen);
  const registry = options.registry ? registryAddress(options.registry) : undefined;
  const config = loadHostSettings(options.hostConfig);
  const hosts = servedHosts(config, options.hostConfig, options.hosts);
  const app = await computeApp({ token, hosts, registry, pushTimeoutMs: config.imagePullTimeoutMs, logger: true });
  const stopped = new Promise<void>((resolve) => {
    const stop = () =>
      void app
        .close()
        .then(() => Promise.allSettled(hosts.map((host) => host.services.close())))
        .then(() => resolve(), resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await app.listen({ host: address, port });
  await stopped;
}

/** The token from --token-file, else DOCKVISOR_COMPUTE_TOKEN; a service without one does not start. */
function readToken(tokenFile: string | undefined): string {
  let token: string | undefined;
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (error) {
      throw new InvalidInputError(`token file ${tokenFile}: ${(error as Error).message}`);
    }
  } else {
    token = process.env.DOCKVISOR_COMPUTE_TOKEN?.trim();
  }
  if (!token) throw new InvalidInputError('no token: set DOCKVISOR_COMPUTE_TOKEN or pass --token-file');
  if (token.length < 16 || /\s/.test(token)) throw new InvalidInputError('the token must be at least 16 characters without spaces');
  return token;
}

export function listenAddress(listen: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new InvalidInputError(`--listen "${listen.slice(0, 60)}" is not host:port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function registryAddress(registry: string): string {
  if (!/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(registry)) throw new InvalidInputError(`--registry "${registry.slice(0, 60)}" is not host[:port]`);
  return registry;
}
