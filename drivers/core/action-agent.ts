import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { loadSshTransports } from '../engine/transport.ts';
import { PrivateSocketServer } from '../streams/private-socket.ts';
import type { ActionRunner } from './action-run.ts';
import { failureOf } from './entry-point.ts';
import { frame, Frame, FrameReader, MAX_REQUEST_BYTES, parseRequest, type AgentRequest } from './agent-frames.ts';

/** What a launcher may forward through the agent; more is a client that is not one of ours. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The environment of an action run by the agent. The driver's own settings (DOCKVISOR_CONFIG, DOCKVISOR_TM_CONFIG,
 * ..., and OpenNebula's ONE_XMLRPC and ONE_AUTH) are the launcher's, handed to the runner; the launcher's own (which
 * node, which socket) are not settings.
 * What deeper code reads from the process itself (HOME for ~/.ssh and the state, SSH_AUTH_SOCK) must be the
 * agent's: a launcher with other values runs its action itself.
 */
const LAUNCHER_ONLY = new Set(['DOCKVISOR_NODE', 'DOCKVISOR_PYTHON', 'DOCKVISOR_AGENT_SOCKET']);
const PROCESS_WIDE = ['HOME', 'SSH_AUTH_SOCK'];

/** OpenNebula's own endpoint and credentials, which the system datastore's monitor reads as oned hands them over. */
const ONE_SETTINGS = new Set(['ONE_XMLRPC', 'ONE_AUTH']);
const isSetting = (name: string) => (name.startsWith('DOCKVISOR_') && !LAUNCHER_ONLY.has(name)) || ONE_SETTINGS.has(name);
const processWide = (env: Record<string, string | undefined>) => JSON.stringify(PROCESS_WIDE.map((name) => env[name] ?? null));

/** The agent's environment with the launcher's driver settings in place of its own. */
function actionEnvironment(agent: NodeJS.ProcessEnv, launcher: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(agent).filter(([name]) => !isSetting(name)));
  for (const [name, value] of Object.entries(launcher)) if (isSetting(name)) env[name] = value;
  return env;
}

/** How the actions of one bundle run from the bundle directory `bundleDir`, with the driver settings in `env`. */
export type RunnerFactory = (bundleDir: string, env: NodeJS.ProcessEnv) => ActionRunner;

export interface ActionAgentOptions {
  /** The release and digest of the remotes it runs (remotes/lib/dockvisor/VERSION). */
  version: string;
  /**
   * The real path of the remotes/lib/dockvisor it was started from. It also runs the actions of other trees of the
   * same version (the front-end's remotes and their copy on a host that is also the front-end), which are the same
   * code, each with its own configuration; a tree of another version runs its own.
   */
  remotesDir: string;
  /** Per bundle (`vmm`, `tm`), how its actions run. */
  runners: Record<string, RunnerFactory>;
  env: NodeJS.ProcessEnv;
  /** Called when a launcher of its own tree brings another version: the agent should make way for a new one. */
  onStale?: () => void;
  /** One line per action run: what, its exit code and how long it took in the agent. */
  log?: (line: string) => void;
}

/**
 * A resident process that runs the actions of its remotes for their launchers, which hand it argv, environment
 * and stdin over a unix socket in a directory only its user can enter, and get back stdout, stderr and the exit
 * code, instead of starting node for each action. It serves only launchers of remotes of its own version and of its
 * HOME and SSH_AUTH_SOCK; every other launcher is told so and runs its action itself, as it does when there is no agent.
 * Actions of one VM run one after the other, so that a retry whose first try's launcher was killed waits for it.
 */
export class ActionAgent {
  private readonly socket: PrivateSocketServer;
  /** The process-wide variables, which a launcher must share. */
  private readonly environment: string;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly running = new Set<Promise<unknown>>();
  /** Actions run so far, and launchers sent back to run their own. */
  readonly served = { run: 0, refused: 0 };

  constructor(private readonly options: ActionAgentOptions) {
    this.environment = processWide(options.env);
    this.socket = new PrivateSocketServer(
      'an action agent',
      (client) => this.serve(client),
      () => Promise.allSettled([...this.running]),
    );
  }

  async listen(socketPath: string): Promise<void> {
    // Loaded now, not at an action's first use: newer remotes synced over the bundle must not replace its chunks first.
    await loadSshTransports();
    await this.socket.listen(socketPath);
  }

  /** Settles once close() has finished. */
  get closed(): Promise<void> {
    return this.socket.closed;
  }

  /** Takes no more launchers, lets the actions under way finish, then ends. */
  close(): Promise<void> {
    return this.socket.close();
  }

  private serve(client: Socket): void {
    const reader = new FrameReader(MAX_REQUEST_BYTES);
    let request: AgentRequest | undefined;
    let refused = false;
    let gone = false;
    let input: PassThrough | undefined;
    let received = 0;
    const timer = setTimeout(() => client.destroy(), REQUEST_TIMEOUT_MS);
    client.on('error', () => client.destroy());
    client.on('end', () => (gone = true));
    client.on('close', () => {
      gone = true;
      clearTimeout(timer);
      // The launcher is gone (killed): stdin cut short is not the action's input, as the node it replaces would have
      // died with it; an action that has its input finishes on its own.
      if (input && open(input)) input.destroy(new Error('the launcher went away before the end of stdin'));
    });
    client.on('data', (chunk: Buffer) => {
      try {
        for (const { type, payload } of reader.push(chunk)) {
          if (refused) throw new Error('nothing more is taken after the answer');
          if (!request) {
            if (type !== Frame.REQUEST) throw new Error('the first frame is not a request');
            request = parseRequest(payload);
            const answer = this.answerTo(request);
            client.write(frame(Frame.ANSWER, answer));
            // Anything but an action to run (a refusal, a presence check) ends with the answer.
            if (answer !== 'run' || request.bundle === '') {
              refused = true;
              return void client.end();
            }
          } else if (!input) {
            if (type !== Frame.GO) throw new Error('expected GO after the answer');
            clearTimeout(timer);
            input = new PassThrough();
            input.on('error', () => undefined); // an action that stopped reading (too much stdin) destroyed it
            this.start(request, input, client, () => gone);
          } else if (type === Frame.STDIN) {
            received += payload.length;
            if (received > MAX_INPUT_BYTES) throw new Error(`more than ${MAX_INPUT_BYTES} bytes of stdin`);
            if (open(input)) input.write(payload);
          } else if (type === Frame.STDIN_END) {
            if (open(input)) input.end();
          } else throw new Error(`unexpected frame ${type}`);
        }
      } catch {
        client.destroy();
      }
    });
  }

  private answerTo(request: AgentRequest): string {
    const { version, remotesDir, runners } = this.options;
    if (request.version !== version) {
      if (request.remotesDir !== remotesDir) return this.refuse(`other the agent runs remotes ${version}, not ${request.version}`);
      this.options.onStale?.();
      return this.refuse(`stale the agent runs remotes ${version}, not ${request.version}`);
    }
    if (this.socket.stopping) return this.refuse('other the agent is stopping');
    // A presence check (the installer's): nothing runs.
    if (request.bundle === '') return 'run';
    if (!Object.hasOwn(runners, request.bundle)) return this.refuse(`other the agent runs no ${request.bundle} actions`);
    if (processWide(request.env) !== this.environment) return this.refuse('other the launcher has another HOME or SSH_AUTH_SOCK than the agent');
    return 'run';
  }

  private refuse(answer: string): string {
    this.served.refused += 1;
    return answer;
  }

  private start(request: AgentRequest, input: PassThrough, client: Socket, launcherGone: () => boolean): void {
    const runner = this.options.runners[request.bundle]!(request.remotesDir, actionEnvironment(this.options.env, request.env));
    const send = (type: number, payload: string) => {
      if (!client.destroyed) client.write(frame(type, payload));
    };
    const io = { input, out: (text: string) => send(Frame.STDOUT, text) };
    const key = runner.key(request.action, request.argv);
    const previous = key ? this.queues.get(key) : undefined;
    const run = (async () => {
      await previous?.catch(() => undefined);
      // Its launcher died while it waited: a node process would not have run it either.
      if (launcherGone()) return undefined;
      this.served.run += 1;
      const started = performance.now();
      let code: number;
      try {
        code = runner.exitCode((await runner.run(request.action, request.argv, io)) ?? 0);
      } catch (error) {
        const failure = failureOf(runner.label(request.action), error);
        send(Frame.STDERR, failure.line);
        code = failure.code;
      }
      this.options.log?.(`${runner.label(request.action)}${key ? ` (${key})` : ''}: exit ${code} after ${Math.round(performance.now() - started)} ms`);
      return code;
    })();
    if (key) this.queues.set(key, run);
    this.running.add(run);
    void run.then((code) => {
      this.running.delete(run);
      if (key && this.queues.get(key) === run) this.queues.delete(key);
      if (open(input)) input.resume(); // stdin the action left unread
      if (code !== undefined && !client.destroyed) client.end(frame(Frame.EXIT, String(code)));
    });
  }
}

/** Whether stdin can still take bytes: the action may have ended it early (more than it takes). */
function open(input: PassThrough): boolean {
  return !input.destroyed && !input.writableEnded;
}
