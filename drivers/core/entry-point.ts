/**
 * How every executable ends: exit 0 when `main` resolves (or with the code it returns), or one line on
 * stderr, `<label>: <reason>`, and exit 1. Never 42, which OpenNebula reads as "remotes missing".
 */
export function runEntryPoint(label: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${label}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
      process.exit(1);
    },
  );
}
