import { ConnectionKeeper } from '../engine/keeper-server.ts';
import type { EngineLocation } from './open-engine.ts';

export type { ConnectionKeeper };

/**
 * A connection keeper serving the actions of remotes `version`: each request names a config and a host, which
 * `locate` turns into how to reach that host's engine over SSH (read from the config, never from the request).
 */
export function connectionKeeper(
  version: string,
  locate: (config: string, host: string) => { location: EngineLocation; timeoutMs: number },
  onStale: () => void,
): ConnectionKeeper {
  return new ConnectionKeeper(
    version,
    (config, host) => {
      const { location, timeoutMs } = locate(config, host);
      if (!location.ssh) throw new Error(`host ${host} is not reached over SSH`);
      const { keeper: _keeper, ...ssh } = location.ssh;
      return { endpoint: { kind: 'ssh', ...ssh, socketPath: location.socketPath }, timeoutMs };
    },
    onStale,
  );
}
