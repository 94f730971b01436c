import type { ClientRequest, IncomingMessage } from 'node:http';
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

/** How a request watched by a stall timer ends, once: see `stallGuard`. */
export interface StallGuard {
  /** Bytes arrived: the silence starts again. */
  flowing: () => void;
  /** The answer has arrived whole, or closed: the timer stops. */
  settle: () => void;
  /** The first failure ends it: the answer's reader gets it once the answer has come, else the request and the caller. */
  fail: (error: Error) => void;
}

/**
 * The stall timer of one HTTP request and its ending, as the engine's and the registry's clients both use it:
 * `timedOut` makes the error a stall ends it with, `onSettle` frees what the request held.
 */
export function stallGuard(
  req: ClientRequest,
  watch: StallWatch,
  timeoutMs: number,
  ending: { timedOut: () => Error; reject: (error: Error) => void; onSettle: () => void },
): StallGuard {
  let done = false;
  const settle = () => {
    done = true;
    stall.stop();
    ending.onSettle();
    watch.connection?.off('data', stall.flowing);
  };
  const fail = (error: Error) => {
    if (done) return;
    settle();
    if (watch.answer) watch.answer.destroy(error);
    else {
      req.destroy(error);
      ending.reject(error);
    }
  };
  const stall = stallTimer(timeoutMs, watch, () => fail(ending.timedOut()));
  return { flowing: stall.flowing, settle, fail };
}
