/**
 * The action agent's wire format on its unix socket, small enough for a launcher's client in a few lines of
 * Python: frames of a type byte, a 4-byte big-endian length and the payload.
 *
 * client: REQUEST (NUL-separated: protocol, remotes version, remotes directory, bundle, action, the number of
 *   environment entries, the entries `NAME=value`, then the action's argv)
 * agent:  ANSWER (`run`, `stale` or `other <why>`); on anything but `run` the client runs the action itself
 * client: GO once it has read `run` (the agent runs nothing before, so a client that gave up never runs twice),
 *         then STDIN frames and STDIN_END
 * agent:  STDOUT and STDERR frames, then EXIT (the code in decimal), and closes.
 */
export const AGENT_PROTOCOL = 'dockvisor-agent/1';

export const Frame = {
  REQUEST: 0x01,
  ANSWER: 0x02,
  GO: 0x03,
  STDIN: 0x10,
  STDIN_END: 0x11,
  STDOUT: 0x20,
  STDERR: 0x21,
  EXIT: 0x22,
} as const;

/** A request is argv and environment, never a document: stdin comes in frames of its own. */
export const MAX_REQUEST_BYTES = 256 * 1024;
const HEADER_BYTES = 5;

export function frame(type: number, payload: Buffer | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

/** Cuts a byte stream into frames; refuses one longer than `maxPayload` (a client that is not ours). */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload: number) {}

  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: { type: number; payload: Buffer }[] = [];
    while (this.buffered.length >= HEADER_BYTES) {
      const length = this.buffered.readUInt32BE(1);
      if (length > this.maxPayload) throw new Error(`a frame of ${length} bytes is more than ${this.maxPayload}`);
      if (this.buffered.length < HEADER_BYTES + length) break;
      frames.push({ type: this.buffered.readUInt8(0), payload: this.buffered.subarray(HEADER_BYTES, HEADER_BYTES + length) });
      this.buffered = this.buffered.subarray(HEADER_BYTES + length);
    }
    return frames;
  }
}

export interface AgentRequest {
  version: string;
  remotesDir: string;
  bundle: string;
  action: string;
  env: Record<string, string>;
  argv: string[];
}

export function parseRequest(payload: Buffer): AgentRequest {
  const fields = payload.toString('utf8').split('\0');
  const [protocol, version = '', remotesDir = '', bundle = '', action = '', count = ''] = fields;
  if (protocol !== AGENT_PROTOCOL) throw new Error(`protocol ${JSON.stringify(protocol?.slice(0, 40))} is not ${AGENT_PROTOCOL}`);
  if (!/^\d{1,4}$/.test(count)) throw new Error('the number of environment entries is not a number');
  const envEntries = fields.slice(6, 6 + Number(count));
  if (envEntries.length !== Number(count)) throw new Error('fewer environment entries than announced');
  const env: Record<string, string> = {};
  for (const entry of envEntries) {
    const at = entry.indexOf('=');
    if (at < 1) throw new Error('an environment entry without a name');
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return { version, remotesDir, bundle, action, env, argv: fields.slice(6 + Number(count)) };
}

export function requestPayload(request: AgentRequest): Buffer {
  const env = Object.entries(request.env).map(([name, value]) => `${name}=${value}`);
  return Buffer.from(
    [AGENT_PROTOCOL, request.version, request.remotesDir, request.bundle, request.action, String(env.length), ...env, ...request.argv].join('\0'),
  );
}
