/** A registry call that failed, phrased with the registry and repository it was about. Never carries credentials. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export class RegistryNotFoundError extends RegistryError {
  constructor(message: string) {
    super(message, 404);
    this.name = 'RegistryNotFoundError';
  }
}
