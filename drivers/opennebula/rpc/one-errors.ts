/** What oned's error codes mean (include/Request.h: ErrorCode). */
export type OneErrorKind = 'authentication' | 'authorization' | 'not-found' | 'action' | 'api' | 'internal' | 'allocate' | 'locked' | 'transport';

const KINDS: Record<number, OneErrorKind> = {
  0x0100: 'authentication',
  0x0200: 'authorization',
  0x0400: 'not-found',
  0x0800: 'action',
  0x1000: 'api',
  0x2000: 'internal',
  0x4000: 'allocate',
  0x8000: 'locked',
};

/** A call oned refused, or could not be made: the method, oned's own words and its error code. */
export class OneRpcError extends Error {
  readonly kind: OneErrorKind;

  constructor(
    readonly method: string,
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'OneRpcError';
    this.kind = code === undefined ? 'transport' : (KINDS[code] ?? 'internal');
  }
}

/** An allocate refused because an object of that kind already has the name. */
export class OneNameTakenError extends OneRpcError {
  /** The id of the object that has the name, when oned says it. */
  readonly existingId?: number;

  constructor(method: string, message: string, code: number) {
    super(method, message, code);
    this.name = 'OneNameTakenError';
    const id = /already taken by \w+ (\d+)/.exec(message)?.[1];
    this.existingId = id === undefined ? undefined : Number(id);
  }
}
