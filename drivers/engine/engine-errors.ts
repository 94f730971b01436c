/** An engine call that failed, phrased in the caller's nouns ("container one-7 not found"). */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export class EngineNotFoundError extends EngineError {
  constructor(message: string) {
    super(message, 404);
    this.name = 'EngineNotFoundError';
  }
}

export class EngineConflictError extends EngineError {
  constructor(message: string) {
    super(message, 409);
    this.name = 'EngineConflictError';
  }
}

/** The engine could not be reached or did not answer in time: the host is down, not the request wrong. */
export class EngineUnreachableError extends EngineError {
  constructor(message: string) {
    super(message);
    this.name = 'EngineUnreachableError';
  }
}

/** What `call` answers, or undefined when the engine has no such thing (404); any other failure stands. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof EngineNotFoundError) return undefined;
    throw error;
  }
}
