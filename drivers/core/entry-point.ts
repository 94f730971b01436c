import { exitCodeOf } from './errors.ts';

/** `<label>: <reason>` on one line, and the exit code of the error's kind (EXIT_CODES). */
export function failureOf(label: string, error: unknown): { line: string; code: number } {
  const message = error instanceof Error ? error.message : String(error);
  return { line: `${label}: ${message.replace(/\s*\n\s*/g, ' ')}\n`, code: exitCodeOf(error) };
}

/**
 * How every executable ends: exit 0 when `main` resolves (or with the code it returns), or one line on
 * stderr, `<label>: <reason>`, and the exit code of the error's kind (EXIT_CODES).
 */
export function runEntryPoint(label: string, main: () => Promise<number | void>): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    // A host without dockvisor's runtime falls back to the node on its PATH, which may be the distribution's older one.
    process.stderr.write(
      `${label}: needs Node.js >= 20.19 and found ${process.version} (${process.execPath}); install dockvisor's runtime with \`dockvisor host provision\`\n`,
    );
    return exitAfterOutput(1);
  }
  main().then(
    (code) => exitAfterOutput(code ?? 0),
    (error: unknown) => {
      const failure = failureOf(label, error);
      process.stderr.write(failure.line);
      exitAfterOutput(failure.code);
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
