import { EngineConflictError, EngineError, EngineNotFoundError, EngineUnreachableError } from '../engine/engine-errors.ts';

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

/**
 * The host is not set up as dockvisor needs (a state directory it may not use, a host never provisioned, a step
 * of provisioning that did not take): the message says what to do on the host. To a front-end it is a failure of
 * the host, not of the request.
 */
export class HostSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostSetupError';
  }
}

/** What went wrong, in the words a front-end answers with; the engine's own errors are sorted here, once. */
export type ErrorKind = 'not-found' | 'conflict' | 'not-supported' | 'unavailable' | 'invalid' | 'host-setup' | 'other';

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof VmNotFoundError || error instanceof EngineNotFoundError) return 'not-found';
  if (error instanceof VmConflictError || error instanceof EngineConflictError) return 'conflict';
  if (error instanceof NotSupportedError) return 'not-supported';
  if (error instanceof HostUnavailableError || error instanceof EngineUnreachableError) return 'unavailable';
  if (error instanceof InvalidInputError) return 'invalid';
  if (error instanceof HostSetupError) return 'host-setup';
  return 'other';
}

/**
 * The exit code of an executable that ends with an error of each kind, the one map the entry points use.
 * OpenNebula's drivers and the CLI's callers read any failure as 1 and the reason from stderr's one line, so
 * every kind is 1 today; 42 is never used (oned would read it as "copy the remotes again").
 */
export const EXIT_CODES: Record<ErrorKind, number> = {
  'not-found': 1,
  conflict: 1,
  'not-supported': 1,
  unavailable: 1,
  invalid: 1,
  'host-setup': 1,
  other: 1,
};

export function exitCodeOf(error: unknown): number {
  return EXIT_CODES[errorKind(error)];
}

/** The host's engine, or the way to it, refused or failed a request (any engine error, unreachable included). */
export function engineFailed(error: unknown): boolean {
  return error instanceof EngineError;
}

/** The engine refused a request as conflicting with what it has (409: a name in use). */
export function engineConflict(error: unknown): boolean {
  return error instanceof EngineConflictError;
}

/** The host's engine did not answer: the host is down, not the request wrong (its message does not name the host). */
export function engineUnreachable(error: unknown): boolean {
  return error instanceof EngineUnreachableError;
}
