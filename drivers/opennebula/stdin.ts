import { InvalidInputError } from '../core/errors.ts';
import { MAX_DOCUMENT_BYTES } from './xml.ts';

/** Reads stdin to the end, refusing more than a document may hold. */
export async function readBoundedStdin(limit = MAX_DOCUMENT_BYTES): Promise<string> {
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
