export interface GuestFile {
  /** Absolute, normalised path inside the VM (checked by the front-end's adapter). */
  path: string;
  contents: Buffer;
}
