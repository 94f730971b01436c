import { EngineConflictError, EngineNotFoundError, EngineUnreachableError } from '../engine/engine-errors.ts';

/** A request the driver refuses: bad or hostile input, or something the host's policy forbids. Nothing was changed. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** A capability dockvisor does not offer, said plainly instead of pretended. */
export class NotSupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotSupportedError';
  }
}

/** The VM has no container on this host. Also an InvalidInputError: to a front-end it is one more refused action. */
export class VmNotFoundError extends InvalidInputError {
  constructor(message: string) {
    super(message);
    this.name = 'VmNotFoundError';
  }
}

/** The VM is not in a state the action needs, or a container of its name is not this VM's (then it is left alone). */
export class VmConflictError extends InvalidInputError {
  constructor(message: string) {
    super(message);
    this.name = 'VmConflictError';
  }
}

/** A NIC names a Linux bridge the host does not have; `advice` says what to do (the front-end may know better). */
export class BridgeMissingError extends InvalidInputError {
  constructor(
    readonly nicId: number,
    readonly bridge: string,
    readonly hostName: string,
    readonly advice = 'create it',
  ) {
    super(`NIC ${nicId}: bridge ${bridge} does not exist on ${hostName} (${advice})`);
    this.name = 'BridgeMissingError';
  }
}

/** The host that was to act cannot be reached (SSH down, engine silent): nothing was decided there. */
export class HostUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostUnavailableError';
  }
}

/** What went wrong, in the words a front-end answers with; the engine's own errors are sorted here, once. */
export type ErrorKind = 'not-found' | 'conflict' | 'not-supported' | 'unavailable' | 'invalid' | 'other';

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof VmNotFoundError || error instanceof EngineNotFoundError) return 'not-found';
  if (error instanceof VmConflictError || error instanceof EngineConflictError) return 'conflict';
  if (error instanceof NotSupportedError) return 'not-supported';
  if (error instanceof HostUnavailableError || error instanceof EngineUnreachableError) return 'unavailable';
  if (error instanceof InvalidInputError) return 'invalid';
  return 'other';
}

/** The host's engine did not answer: the host is down, not the request wrong (its message does not name the host). */
export function engineUnreachable(error: unknown): boolean {
  return error instanceof EngineUnreachableError;
}
