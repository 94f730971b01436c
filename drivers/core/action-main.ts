import type { ActionRunner } from './action-run.ts';
import { processIO } from './action-run.ts';
import { runEntryPoint } from './entry-point.ts';

/** A bundle's main: `<bundle>.mjs <action> <argv...>` run once in this process, as the runner runs it. */
export function runActionMain(runner: ActionRunner, [action = '', ...argv]: string[]): void {
  runEntryPoint(runner.label(action), async () => runner.exitCode((await runner.run(action, argv, processIO())) ?? 0));
}
