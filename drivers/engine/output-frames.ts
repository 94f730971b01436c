/**
 * The engine frames a non-TTY command's output: per frame one byte for the stream (1 stdout, 2 stderr), three
 * zero bytes and a big-endian length, then the bytes. Frames may arrive cut anywhere; this joins them again.
 */
export class OutputFrames {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + length) return;
      const kind = this.pending[0];
      const payload = this.pending.subarray(8, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      if (payload.length) this.onOutput(kind === 2 ? 'stderr' : 'stdout', payload);
    }
  }
}
