import { frame, Frame, FrameReader, requestPayload } from '../../core/agent-frames.ts';
import { shellQuote } from '../../hosts/shell-quote.ts';
import { AGENT_UNIT, AGENT_UNIT_FILE } from './agent-unit.ts';

/** Where the VMM launchers look for their agent, under the driver user's home (remotes/lib/dockvisor-launch/launch.sh). */
export const AGENT_DIR = '.dockvisor';
export const AGENT_SOCKET = `${AGENT_DIR}/vmm-agent.sock`;
export const AGENT_LOG = `${AGENT_DIR}/agent.log`;

/** What the agent step finds on the host, by one root command. */
export interface AgentSurvey {
  user?: { uid: number; gid: number; home: string };
  /** The remotes' lib/dockvisor (its real path, as the agent names it) and its VERSION, when agent.mjs is there. */
  remotes?: { lib: string; version: string };
  /** The unit file's text, when there is one. */
  unit?: string;
  enabled: boolean;
  /** The socket and its directory as found (never followed through a link), when something is at the socket's path. */
  socket?: { dirUid: number; dirMode: number; dirType: string; uid: number; type: string };
}

export function agentSurveyScript(user: string, remotesDir: string): string {
  const lib = shellQuote(`${remotesDir}/lib/dockvisor`);
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `if e=$(getent passwd ${shellQuote(user)}); then`,
    '  echo @@user; printf "%s\\n" "$e" | cut -d: -f3,4,6',
    `  h=$(printf "%s" "$e" | cut -d: -f6); s="$h/${AGENT_SOCKET}"`,
    `  if [ -e "$s" ] || [ -L "$s" ]; then echo @@socket; stat -c '%u %a %F' "$h/${AGENT_DIR}"; stat -c '%u %F' "$s"; fi`,
    'fi',
    `if [ -f ${lib}/agent.mjs ] && [ -r ${lib}/VERSION ]; then echo @@remotes; realpath ${lib}; head -c 300 ${lib}/VERSION; echo; fi`,
    `if [ -f ${AGENT_UNIT_FILE} ]; then echo @@unit; base64 -w0 ${AGENT_UNIT_FILE}; echo; fi`,
    `if command -v systemctl >/dev/null && systemctl is-enabled --quiet ${AGENT_UNIT} 2>/dev/null; then echo @@enabled; fi`,
    'true',
  ].join('\n');
}

export function parseAgentSurvey(output: string): AgentSurvey {
  const survey: AgentSurvey = { enabled: false };
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('@@')) sections.set(line.slice(2), (current = []));
    else current?.push(line);
  }
  const [user] = sections.get('user') ?? [];
  const [uid, gid, home] = user?.split(':') ?? [];
  if (user && home && /^\d+$/.test(uid!) && /^\d+$/.test(gid!)) survey.user = { uid: Number(uid), gid: Number(gid), home };
  const [lib, version] = sections.get('remotes') ?? [];
  if (lib && version?.trim()) survey.remotes = { lib, version: version.trim() };
  const unit = sections.get('unit');
  if (unit) survey.unit = Buffer.from(unit.join('').trim(), 'base64').toString('utf8');
  survey.enabled = sections.has('enabled');
  const [dir, socket] = sections.get('socket') ?? [];
  const dirMatch = /^(\d+) ([0-7]+) (.+)$/.exec(dir ?? '');
  const socketMatch = /^(\d+) (.+)$/.exec(socket ?? '');
  if (dirMatch && socketMatch) {
    survey.socket = {
      dirUid: Number(dirMatch[1]),
      dirMode: parseInt(dirMatch[2]!, 8),
      dirType: dirMatch[3]!,
      uid: Number(socketMatch[1]),
      type: socketMatch[2]!,
    };
  }
  return survey;
}

/** Why what is at the socket is not the driver user's own (a socket in a directory only that user enters); undefined when it is. */
export function untrustedSocket(survey: AgentSurvey): string | undefined {
  const { socket, user } = survey;
  if (!socket || !user) return 'nothing';
  if (socket.type !== 'socket') return `a ${socket.type}, not a socket`;
  if (socket.dirType !== 'directory') return `its directory is a ${socket.dirType}`;
  if (socket.uid !== user.uid || socket.dirUid !== user.uid) return `it or its directory belongs to another user than uid ${user.uid}`;
  if (socket.dirMode & 0o077) return `its directory is open to others (${socket.dirMode.toString(8)})`;
  return undefined;
}

/**
 * The agent protocol's presence check (a REQUEST with no bundle), asked as a launcher of these remotes asks:
 * `run` from an agent of this version. An agent of another version whose own tree this is steps down on the
 * very question (as on a launcher's), which is what a provision run after `onehost sync` wants of it.
 */
export function presenceRequest(remotes: { lib: string; version: string }): Buffer {
  return frame(Frame.REQUEST, requestPayload({ version: remotes.version, remotesDir: remotes.lib, bundle: '', action: '', env: {}, argv: [] }));
}

/** python3 (which the launchers use too) sends the request and prints the first frame back in hex. */
const ASK = [
  'import socket,struct,sys',
  's=socket.socket(socket.AF_UNIX)',
  's.settimeout(5)',
  's.connect(sys.argv[1])',
  's.sendall(bytes.fromhex(sys.argv[2]))',
  "d=b''",
  "while len(d)<5 or len(d)<5+struct.unpack('>I',d[1:5])[0]:",
  ' c=s.recv(4096)',
  ' if not c:break',
  ' d+=c',
  'sys.stdout.write(d.hex())',
].join('\n');

export function presenceScript(socket: string, request: Buffer): string {
  return `/usr/bin/python3 -I -S -c ${shellQuote(ASK)} ${shellQuote(socket)} ${request.toString('hex')}`;
}

export type Presence = 'same' | 'stale' | 'other' | 'none';

/** What the presence check's output says: `none` when nothing answered (python3 failed to connect). */
export function parsePresence(code: number, output: string): Presence {
  if (code !== 0 || !/^([0-9a-f]{2})+$/.test(output.trim())) return 'none';
  try {
    const [answer] = new FrameReader(4096).push(Buffer.from(output.trim(), 'hex'));
    if (answer?.type !== Frame.ANSWER) return 'other';
    const text = answer.payload.toString('utf8');
    return text === 'run' ? 'same' : text.startsWith('stale') ? 'stale' : 'other';
  } catch {
    return 'other';
  }
}
