import { pollUntil } from '../core/poll.ts';
import { engineFailed } from '../core/errors.ts';
import type { HostEngine } from '../core/open-engine.ts';
import type { RegistryReach } from '../core/host-images.ts';
import { isLoopbackRegistry, parseImageName } from './registry/image-name.ts';
import type { RegistryCredentials } from './registry/registry-auth.ts';

/**
 * The reach the host images of `engine` pull and push through: the registry a reference names, reached as
 * `withRegistryReach` says, with its credentials. A reference the image grammar refuses goes to the engine as it
 * is, anonymously, and the engine says what is wrong with it.
 */
export function registryReach(engine: HostEngine, credentials: (registry: string) => RegistryCredentials | undefined, waitMs: number): RegistryReach {
  return (reference, use) => {
    let registry: string;
    try {
      registry = parseImageName(reference).registry;
    } catch {
      return use(undefined);
    }
    return withRegistryReach(engine, registry, waitMs, () => use(engineRegistryAuth(registry, credentials(registry))));
  };
}

/**
 * Runs `use` while the host's engine can reach `registry`. A registry on the front-end's loopback is
 * reached through the same SSH connection (a remote forward of its port on the host's loopback, which
 * engines trust without TLS); any other registry the host reaches directly. Another action's forward of
 * the same port on the same host makes this one wait its turn, at most `waitMs`.
 */
export async function withRegistryReach<T>(engine: HostEngine, registry: string, waitMs: number, use: () => Promise<T>): Promise<T> {
  if (!isLoopbackRegistry(registry) || sharesOurLoopback(engine)) return use();
  const port = Number(/:([0-9]+)$/.exec(registry)?.[1] ?? 80);
  let refused: unknown;
  const forward = async () => {
    try {
      return await engine.forwardRemotePort(port, { host: '127.0.0.1', port });
    } catch (error) {
      if (!engineFailed(error)) throw error;
      refused = error;
      return undefined;
    }
  };
  const close = await pollUntil(forward, { timeoutMs: waitMs, intervalMs: 250 });
  if (!close) throw refused;
  try {
    return await use();
  } finally {
    await close();
  }
}

/** A local engine, or a "host" that is this machine reached over SSH (e.g. `localhost`), sees our loopback. */
function sharesOurLoopback(engine: HostEngine): boolean {
  return engine.remoteHost === undefined || isLoopbackRegistry(engine.remoteHost);
}

/** The X-Registry-Auth value an engine needs for a registry, or undefined for anonymous access. */
export function engineRegistryAuth(registry: string, credentials: RegistryCredentials | undefined): string | undefined {
  if (!credentials) return undefined;
  return Buffer.from(JSON.stringify({ username: credentials.username, password: credentials.password, serveraddress: registry })).toString('base64');
}
