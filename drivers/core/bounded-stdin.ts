import { InvalidInputError } from './errors.ts';

/**
 * What an action reads as its stdin: the process's own, or (in the action agent) the bytes its launcher forwards.
 * Undefined when there is nothing to read (a terminal).
 */
export type ActionInput = AsyncIterable<Buffer> | undefined;

export function processInput(): ActionInput {
  return process.stdin.isTTY ? undefined : process.stdin;
}

/** Reads stdin to the end, refusing more than `limit` bytes (each caller knows what its input may hold). */
export async function readBoundedStdin(limit: number, input: ActionInput = processInput()): Promise<string> {
  if (!input) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early (the throw) ends the stream, as destroying process.stdin did.
  for await (const chunk of input) {
    size += chunk.length;
    if (size > limit) throw new InvalidInputError(`stdin is larger than ${limit} bytes; refused`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
