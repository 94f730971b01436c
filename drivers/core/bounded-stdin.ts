import { InvalidInputError } from './errors.ts';

/** Reads stdin to the end, refusing more than `limit` bytes (each caller knows what its input may hold). */
export async function readBoundedStdin(limit: number): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      process.stdin.destroy();
      throw new InvalidInputError(`stdin is larger than ${limit} bytes; refused`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
