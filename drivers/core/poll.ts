/**
 * The one way dockvisor waits for something to happen: calls `probe` until it gives a value (anything truthy),
 * `intervalMs` apart, and gives up once `timeoutMs` has passed after a call, returning undefined. `waitFirst`
 * waits one interval before the first call, for a caller that has just looked itself.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs: number; waitFirst?: boolean },
): Promise<T | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  if (options.waitFirst) await pause(options.intervalMs);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return undefined;
    await pause(options.intervalMs);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
