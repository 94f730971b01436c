// Preloaded (NODE_OPTIONS=--import=<this file>) into an instrumented driver process by deploy-phases.ts:
// timestamps each engine request, each command and the start of the driver's main(), and writes them
// as JSON to $DVB_PHASE_MARKS when the process exits. Plain JavaScript: it loads before any TypeScript
// support would, and it must not change what it measures. Not used by the timed rounds.
import cp from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';

/** @type {[number, string][]} */
const marks = [];
const mark = (/** @type {string} */ what) => marks.push([performance.now(), what]);
mark('preload');

const request = http.request;
// Called as (options, callback) by the engine client and as (url, options, callback) by the registry client.
http.request = function (/** @type {any[]} */ ...args) {
  const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  const url = typeof args[0] === 'string' || args[0] instanceof URL ? new URL(args.shift()) : undefined;
  const options = args[0] ?? {};
  const label = `${options.method ?? 'GET'} ${options.path ?? (url ? url.pathname + url.search : '')}`;
  mark(`http> ${label}`);
  return request.call(this, ...(url ? [url] : []), options, (/** @type {http.IncomingMessage} */ res) => {
    res.on('end', () => mark(`http< ${label}`));
    callback?.(res);
  });
};

const spawn = cp.spawn;
cp.spawn = /** @type {typeof cp.spawn} */ (
  function (/** @type {string} */ file, /** @type {any} */ args, /** @type {any} */ options) {
    const label = [file, ...(Array.isArray(args) ? args : [])].join(' ');
    mark(`spawn> ${label}`);
    const child = spawn.call(this, file, args, options);
    child.on('close', () => mark(`spawn< ${label}`));
    return child;
  }
);
syncBuiltinESMExports(); // named imports of spawn see the wrapper too

// The driver's main() reads stdin first: the first look at process.stdin is the end of module loading.
const stdin = Object.getOwnPropertyDescriptor(process, 'stdin');
let seen = false;
Object.defineProperty(process, 'stdin', {
  configurable: true,
  enumerable: true,
  get() {
    if (!seen) {
      seen = true;
      mark('main');
    }
    return stdin?.get?.call(process);
  },
});

process.on('exit', () => {
  mark('exit');
  if (process.env.DVB_PHASE_MARKS) writeFileSync(process.env.DVB_PHASE_MARKS, JSON.stringify({ timeOrigin: performance.timeOrigin, marks }));
});
