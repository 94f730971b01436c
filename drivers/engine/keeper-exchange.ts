import { once } from 'node:events';
import { ChannelExchange, ChannelPool } from './channel-exchange.ts';
import type { EngineEndpoint } from './endpoint.ts';
import { EngineUnreachableError } from './engine-errors.ts';
import type { HttpExchange } from './http-exchange.ts';
import { KeeperRefusal, openKeeper, type KeeperRoute } from './keeper-protocol.ts';

type SshEndpoint = Extract<EngineEndpoint, { kind: 'ssh' }>;

const HELLO_TIMEOUT_MS = 2000;

/**
 * The engine of a host reached through the front-end's connection keeper, which holds one SSH connection per
 * host for every action: no handshake, no ssh2 to load. Without a keeper of the same version (none running, a
 * stale one after an upgrade, a socket that is not ours), the action opens its own SSH connection as before.
 */
export async function keeperOrDirectExchange(endpoint: SshEndpoint, route: KeeperRoute, timeoutMs: number): Promise<HttpExchange> {
  try {
    // A keeper that does not answer at once (stopped, overloaded) is not waited for: the action connects itself.
    (await openKeeper(route.socketPath, { open: 'hello', version: route.version }, Math.min(timeoutMs, HELLO_TIMEOUT_MS))).destroy();
  } catch (error) {
    if (!(error instanceof KeeperRefusal)) throw error;
    const { sshExchange } = await import('./ssh-exchange.ts');
    return sshExchange(endpoint, timeoutMs);
  }
  return keeperExchange(route, timeoutMs);
}

function keeperExchange(route: KeeperRoute, timeoutMs: number): ChannelExchange {
  const { version, config, host } = route;
  const unreachable = (error: unknown) =>
    new EngineUnreachableError(`the engine on ${host} through the connection keeper: ${error instanceof Error ? error.message : String(error)}`);
  const openChannel = () =>
    openKeeper(route.socketPath, { open: 'engine', version, config, host }, timeoutMs).catch((error) => Promise.reject(unreachable(error)));
  let pool: ChannelPool | undefined;
  const exchange = new ChannelExchange(
    () => (pool && !pool.failed ? pool : (pool = new ChannelPool(openChannel))),
    async () => pool?.destroy(),
  );
  exchange.forwardRemotePort = async (port, target) => {
    const held = await openKeeper(route.socketPath, { open: 'forward', version, config, host, port, target }, timeoutMs).catch((error) =>
      Promise.reject(unreachable(error)),
    );
    // Ending our side asks the keeper to drop the forward; it closes once the forward is gone.
    return async () => {
      if (held.destroyed) return;
      held.end();
      await once(held, 'close');
    };
  };
  return exchange;
}
