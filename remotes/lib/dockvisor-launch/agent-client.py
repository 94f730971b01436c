"""The launchers' client of dockvisor's action agent (see drivers/core/agent-frames.ts for the frames).

argv: <socket> <node> <remotes lib/dockvisor> <bundle> <action> <OpenNebula's argv...>. Hands the action to the
agent and relays its stdin, stdout, stderr and exit code. When the agent is not there, does not answer in time, or
says the action is not for it (other remotes, version or environment), runs the action with node itself: nothing
of stdin has been read by then.
"""

# The C modules themselves: `socket` and `struct` would import enum, selectors and more, doubling the start.
import _socket
import _struct
import os
import select
import sys

PROTOCOL = b"dockvisor-agent/1"
REQUEST, ANSWER, GO = 0x01, 0x02, 0x03
STDIN, STDIN_END = 0x10, 0x11
STDOUT, STDERR, EXIT = 0x20, 0x21, 0x22
ANSWER_TIMEOUT_S = 5.0
LAUNCHER_ONLY = {b"DOCKVISOR_NODE", b"DOCKVISOR_PYTHON", b"DOCKVISOR_AGENT_SOCKET"}


HEADER = _struct.Struct(">BI")


def frame(kind, payload=b""):
    return HEADER.pack(kind, len(payload)) + payload


def action_environment():
    names = sorted(
        name
        for name in os.environb
        if (name.startswith(b"DOCKVISOR_") and name not in LAUNCHER_ONLY)
        or name in (b"ONE_XMLRPC", b"ONE_AUTH", b"HOME", b"SSH_AUTH_SOCK")
    )
    return [name + b"=" + os.environb[name] for name in names]


def read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BrokenPipeError:
            return


def main():
    # A launcher started with stdin, stdout or stderr closed: the socket must not take that number (node, run
    # instead, would see them on /dev/null too).
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)
    sock_path, node, remotes, bundle, action = sys.argv[1:6]
    argv = [os.fsencode(word) for word in sys.argv[6:]]

    def run_alone():
        sys.stdout.flush()
        os.execvp(node, [node, os.path.join(remotes, bundle + ".mjs"), action] + sys.argv[6:])

    try:
        with open(os.path.join(remotes, "VERSION"), "rb") as file:
            version = file.read().strip()
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        conn.settimeout(ANSWER_TIMEOUT_S)
        conn.connect(sock_path)
        env = action_environment()
        fields = [PROTOCOL, version, os.fsencode(os.path.realpath(remotes)), os.fsencode(bundle), os.fsencode(action)]
        conn.sendall(frame(REQUEST, b"\0".join(fields + [str(len(env)).encode()] + env + argv)))
        header = read_exactly(conn, 5)
        kind, length = HEADER.unpack(header) if header else (None, 0)
        answer = read_exactly(conn, length) if kind == ANSWER and length < 4096 else None
        if answer != b"run":
            conn.close()
            run_alone()
        conn.sendall(frame(GO))
    except OSError:
        run_alone()

    conn.settimeout(None)
    buffered = b""
    watching = [conn, 0]
    try:
        # As a node action reads it: a terminal gives nothing, and no stdin at all is an empty one.
        reads_stdin = not os.isatty(0)
    except OSError:
        reads_stdin = False
    if not reads_stdin:
        conn.sendall(frame(STDIN_END))
        watching = [conn]
    while True:
        ready = select.select(watching, [], [])[0]
        if 0 in ready:
            try:
                data = os.read(0, 65536)
            except OSError:
                data = b""
            try:
                conn.sendall(frame(STDIN, data) if data else frame(STDIN_END))
            except OSError:
                pass  # the action has ended; its frames are still to read
            if not data:
                watching = [conn]
        if conn in ready:
            try:
                chunk = conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                write_all(2, ("dockvisor %s: the action agent went away before the action ended\n" % action).encode())
                sys.exit(1)
            buffered += chunk
            while len(buffered) >= 5:
                kind, length = HEADER.unpack(buffered[:5])
                if len(buffered) < 5 + length:
                    break
                payload, buffered = buffered[5 : 5 + length], buffered[5 + length :]
                if kind == STDOUT:
                    write_all(1, payload)
                elif kind == STDERR:
                    write_all(2, payload)
                elif kind == EXIT:
                    sys.exit(int(payload))


main()
