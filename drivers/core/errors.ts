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
