/** How a provisioning run shows its steps: a live line on a terminal, plain lines elsewhere. */
export interface ProvisionProgress {
  started(title: string): void;
  finished(title: string, detail: string, changed: boolean): void;
  failed(title: string, reason: string): void;
  /** A bounded wait going on: the live line on a terminal, a plain line elsewhere each time `state` changes. */
  waiting?(title: string, state: string, elapsedMs: number): void;
}

export function progressFor(stream: NodeJS.WriteStream): ProvisionProgress {
  const live = stream.isTTY === true && !process.env.NO_COLOR;
  const clear = live ? '\r\x1b[2K' : '';
  let lastWait = '';
  return {
    started(title) {
      if (live) stream.write(`  … ${title}`);
    },
    finished(title, detail, changed) {
      stream.write(`${clear}${live ? '\x1b[32m✔\x1b[0m' : '✔'} ${title}: ${detail}${changed ? ' (changed)' : ''}\n`);
    },
    failed(title, reason) {
      stream.write(`${clear}${live ? '\x1b[31m✖\x1b[0m' : '✖'} ${title}: ${reason}\n`);
    },
    waiting(title, state, elapsedMs) {
      const line = `  … ${title}: ${state} (${Math.round(elapsedMs / 1000)} s)`;
      if (live) stream.write(`${clear}${line}`);
      else if (`${title}: ${state}` !== lastWait) stream.write(`${line}\n`);
      lastWait = `${title}: ${state}`;
    },
  };
}

export const silentProgress: ProvisionProgress = { started() {}, finished() {}, failed() {} };
