import { processInput, type ActionInput } from './bounded-stdin.ts';

/** What one run of an action reads and writes: the process's own stdio, or the agent's frames to its launcher. */
export interface ActionIO {
  readonly input: ActionInput;
  /** Writes to the action's stdout. */
  out(text: string): void;
}

export function processIO(): ActionIO {
  return { input: processInput(), out: (text) => void process.stdout.write(text) };
}

/**
 * One kind of action an executable bundle runs (`vmm.mjs <action> ...`), as the bundle's main and the action
 * agent both run it: the label its failures start with, and the code it ends with (the error's is the caller's).
 */
export interface ActionRunner {
  label(action: string): string;
  run(action: string, argv: string[], io: ActionIO): Promise<number | void>;
  /** Actions with the same key run one after the other in the agent (a retry waits for the try it replaces). */
  key(action: string, argv: string[]): string | undefined;
  /** Maps the code a run ends with to the one its caller may see. */
  exitCode(code: number): number;
}
