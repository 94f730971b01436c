import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ChannelExchange, ChannelPool } from './channel-exchange.ts';
import type { EngineEndpoint } from './endpoint.ts';
import { EngineUnreachableError } from './engine-errors.ts';
import type { HttpExchange } from './http-exchange.ts';
import { KeeperRefusal, openKeeper, type KeeperRoute } from './keeper-protocol.ts';
import type { SshEngineDispatcher } from './ssh-exchange.ts';

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
  return keeperExchange(endpoint, route, timeoutMs);
}

function keeperExchange(endpoint: SshEndpoint, route: KeeperRoute, timeoutMs: number): ChannelExchange {
  const { version, config, host } = route;
  const unreachable = (error: unknown) =>
    new EngineUnreachableError(`the engine on ${host} through the connection keeper: ${error instanceof Error ? error.message : String(error)}`);
  // The keeper may go between the hello and a later request (it stepped down for newer remotes, or was stopped):
  // from then on the action connects by itself, as it would have without one.
  let direct: Promise<SshEngineDispatcher> | undefined;
  const ownConnection = () => (direct ??= import('./ssh-exchange.ts').then(({ SshEngineDispatcher }) => new SshEngineDispatcher(endpoint, timeoutMs)));
  const orOwnConnection = async <T>(viaKeeper: () => Promise<T>, itself: (dispatcher: SshEngineDispatcher) => Promise<T>): Promise<T> => {
    if (direct) return itself(await direct);
    try {
      return await viaKeeper();
    } catch (error) {
      if (error instanceof KeeperRefusal && error.absent) return itself(await ownConnection());
      throw unreachable(error);
    }
  };
  const openChannel = () =>
    orOwnConnection<Duplex>(
      () => openKeeper(route.socketPath, { open: 'engine', version, config, host }, timeoutMs),
      (dispatcher) => dispatcher.openEngineChannel(),
    );
  let pool: ChannelPool | undefined;
  const exchange = new ChannelExchange(
    () => (pool && !pool.failed ? pool : (pool = new ChannelPool(openChannel))),
    async () => {
      pool?.destroy();
      if (direct) await (await direct).close();
    },
  );
  exchange.forwardRemotePort = async (port, target) => {
    let release: (() => Promise<void>) | undefined;
    const held = await orOwnConnection<Socket | undefined>(
      () => openKeeper(route.socketPath, { open: 'forward', version, config, host, port, target }, timeoutMs),
      async (dispatcher) => void (release = await dispatcher.forwardRemotePort(port, target)),
    );
    if (!held) return release!;
    // Ending our side asks the keeper to drop the forward; it closes once the forward is gone.
    return async () => {
      if (held.destroyed) return;
      held.end();
      await once(held, 'close');
    };
  };
  return exchange;
}
