import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** What a stall timer watches: the answer once it has come, and the connection its bytes arrive on. */
export interface StallWatch {
  answer?: IncomingMessage;
  connection?: Duplex;
}

/**
 * A timer that fires `stalled` only when the other side has been silent for `timeoutMs`: before its answer,
 * or between two pieces of it. Bytes on the connection restart it (`flowing`); an answer that has fully
 * arrived stops it, and a connection paused by its reader restarts it, since then the reader holds back, not the server.
 */
export function stallTimer(timeoutMs: number, watch: StallWatch, stalled: () => void): { flowing: () => void; stop: () => void } {
  const timer = setTimeout(() => {
    if (watch.answer?.complete) clearTimeout(timer);
    else if (watch.answer && watch.connection?.isPaused()) timer.refresh();
    else stalled();
  }, timeoutMs);
  return { flowing: () => timer.refresh(), stop: () => clearTimeout(timer) };
}
