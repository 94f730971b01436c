import { shellQuote } from '../../hosts/shell-quote.ts';

/** What one look at the host finds: everything the steps' checks need, gathered by a single remote command. */
export interface HostSurvey {
  kernel: string;
  /** Release files that exist, by path. */
  releases: Map<string, string>;
  /** Commands found, by name, with their paths. */
  paths: Map<string, string>;
  /** The process listening on the engine socket. */
  listener?: { pid: number; args: string[] };
  socketGroup?: string;
  /** Groups of each user asked about; a missing user is absent. */
  userGroups: Map<string, string[]>;
  /** The sudoers file's content, when it exists. */
  sudoers?: string;
  /** sha256 of dockvisor's runtime's node binary, when it is there. */
  runtimeSha256?: string;
  /** Which of MONITORING_CLIENT_LIBRARIES the host's ruby cannot load; absent without ruby. */
  rubyMissing?: string[];
  /** Whether /usr/bin/python3 is there: the launchers hand actions to the action agent with it, by that path. */
  python3: boolean;
  systemd: boolean;
}

export const RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release', '/etc/debian_version', '/etc/redhat-release'];
export const LOOKED_UP_COMMANDS = [
  'dockerd',
  'ip',
  'tc',
  'nsenter',
  'iptables',
  'tee',
  'ovs-vsctl',
  'ethtool',
  'mount',
  'umount',
  'kill',
  'sudo',
  'visudo',
  'ruby',
  'rsync',
];
/** What OpenNebula's monitoring client requires (monitord-client.rb, and the monitord_client and probe_db it loads). */
export const MONITORING_CLIENT_LIBRARIES = ['base64', 'yaml', 'open3', 'openssl', 'rexml/document', 'socket', 'zlib', 'fileutils', 'sqlite3'];

/** The root shell script that prints the facts as `@@section` blocks. Every value in it is quoted. */
export function factsScript(engineSocket: string, users: string[], sudoersFile: string, runtimeDir: string): string {
  const socket = shellQuote(engineSocket);
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'echo @@kernel; uname -sm',
    `for f in ${RELEASE_FILES.join(' ')}; do if [ -r "$f" ]; then echo "@@release $f"; cat "$f"; echo; fi; done`,
    // A shell builtin (kill) answers `command -v` with its bare name: its program is then looked for where packages put it.
    `echo @@paths; for c in ${LOOKED_UP_COMMANDS.join(' ')}; do p=$(command -v "$c") || continue; case $p in /*) echo "$c $p" ;; *) for d in /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do if [ -x "$d/$c" ]; then echo "$c $d/$c"; break; fi; done ;; esac; done`,
    `line=$(ss -xlpnH 2>/dev/null | awk -v s=${socket} '$5 == s' | head -n 1)`,
    'pid=$(printf %s "$line" | sed -n \'s/.*pid=\\([0-9]*\\).*/\\1/p\')',
    'if [ -n "$pid" ]; then echo "@@listener $pid"; tr "\\000" "\\n" < "/proc/$pid/cmdline"; fi',
    `if [ -S ${socket} ]; then echo @@socket-group; stat -c %G ${socket}; fi`,
    ...users.map((user) => `if g=$(id -nG ${shellQuote(user)} 2>/dev/null); then echo "@@groups ${user}"; echo "$g"; fi`),
    `if [ -r ${shellQuote(sudoersFile)} ]; then echo @@sudoers; base64 -w0 ${shellQuote(sudoersFile)}; echo; fi`,
    `if [ -f ${shellQuote(runtimeDir + '/bin/node')} ]; then echo @@runtime; sha256sum ${shellQuote(runtimeDir + '/bin/node')} | cut -d' ' -f1; fi`,
    // One ruby run tries them all; its warnings (base64 leaving the default gems) are not facts.
    `if command -v ruby >/dev/null; then echo @@ruby-missing; ruby -e 'ARGV.each { |l| begin; require l; rescue LoadError; puts l; end }' ${MONITORING_CLIENT_LIBRARIES.join(' ')} 2>/dev/null; fi`,
    'if [ -x /usr/bin/python3 ]; then echo @@python3; fi',
    'if [ -d /run/systemd/system ]; then echo @@systemd; fi',
    'true',
  ].join('\n');
}

export function parseFacts(output: string): HostSurvey {
  const facts: HostSurvey = { kernel: '', releases: new Map(), paths: new Map(), userGroups: new Map(), python3: false, systemd: false };
  const sections: Array<{ header: string; lines: string[] }> = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('@@')) sections.push({ header: line.slice(2), lines: [] });
    else sections.at(-1)?.lines.push(line);
  }
  for (const { header, lines } of sections) {
    const [kind, argument] = splitOnce(header);
    const body = lines.join('\n');
    if (kind === 'kernel') facts.kernel = body.trim();
    else if (kind === 'release') facts.releases.set(argument, body);
    else if (kind === 'paths') for (const line of lines.filter(Boolean)) facts.paths.set(...splitOnce(line));
    else if (kind === 'listener') facts.listener = { pid: Number(argument), args: lines.filter(Boolean) };
    else if (kind === 'socket-group') facts.socketGroup = body.trim();
    else if (kind === 'groups') facts.userGroups.set(argument, body.trim().split(/\s+/));
    else if (kind === 'sudoers') facts.sudoers = Buffer.from(body.trim(), 'base64').toString('utf8');
    else if (kind === 'runtime') facts.runtimeSha256 = body.trim();
    else if (kind === 'ruby-missing') facts.rubyMissing = lines.filter(Boolean);
    else if (kind === 'python3') facts.python3 = true;
    else if (kind === 'systemd') facts.systemd = true;
  }
  return facts;
}

function splitOnce(text: string): [string, string] {
  const space = text.indexOf(' ');
  return space < 0 ? [text, ''] : [text.slice(0, space), text.slice(space + 1)];
}
