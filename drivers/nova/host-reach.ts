import { HostUnavailableError } from '../core/errors.ts';
import { EngineUnreachableError } from '../engine/errors.ts';

/**
 * Runs `work` on a host; when the host cannot be reached (its engine or its SSH connection), the
 * error says which host it is. Every other error goes through as it is.
 */
export async function onHost<T>(hostName: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EngineUnreachableError) throw new HostUnavailableError(`host ${hostName} is unavailable: ${error.message}`);
    if (error instanceof HostUnavailableError && !error.message.startsWith(`host ${hostName} `)) {
      throw new HostUnavailableError(`host ${hostName} is unavailable: ${error.message}`);
    }
    throw error;
  }
}
