import { engineUnreachable, HostUnavailableError } from '../core/errors.ts';

/**
 * Runs `work` on a host; an engine that cannot be reached becomes a HostUnavailableError naming the
 * host (one from the host's SSH access names it already). Every other error goes through as it is.
 */
export async function onHost<T>(hostName: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (engineUnreachable(error)) throw new HostUnavailableError(`host ${hostName} is unavailable: ${(error as Error).message}`);
    throw error;
  }
}
