/**
 * Runs `work` on every item with at most `limit` calls in flight, in the items' order. Stops starting
 * new calls at the first failure or when `abort` fires, waits for the calls in flight, then rejects
 * with that failure (or the abort's reason).
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  abort?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      if (abort?.aborted) {
        failure ??= { error: abort.reason ?? new Error('interrupted') };
        return;
      }
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

/** A random sample of `size` items (all of them, shuffled, when there are fewer). */
export function randomSample<T>(items: readonly T[], size: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, size);
}
