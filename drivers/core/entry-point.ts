/**
 * How every executable ends: exit 0 when `main` resolves (or with the code it returns), or one line on
 * stderr, `<label>: <reason>`, and exit 1. Never 42, which OpenNebula reads as "remotes missing".
 */
export function runEntryPoint(label: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => exitAfterOutput(code ?? 0),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${label}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
      exitAfterOutput(1);
    },
  );
}

/**
 * A pipe takes 64 KB at once; what does not fit waits in the process. Exiting right away would cut the
 * output of a big report short, so the exit waits until both streams have handed everything over.
 */
function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
