"""A quick command line answered by a warm process: the client's side.

A read such as ``conveyor dags list`` spends nearly all of its half second importing
SQLAlchemy, pydantic, rich and Conveyor's read model, and a few milliseconds reading the
store. Scripts call such commands in loops. So the ``conveyor`` entry point, for the quick
commands named in :data:`QUICK_COMMANDS`, hands its command line to a *command server*
(:mod:`conveyor.cli.command_server`): a process of this user, started by the first such
command, that has those modules imported and forks a child for each command line. The child
takes this process's terminal or pipes (the file descriptors themselves travel over the
socket), its folder, environment and umask, runs the command as a fresh process would, and
the server sends back its exit status. The command's code path is the one a cold start runs.

This module is imported by every ``conveyor`` command line, so it imports a few modules of
the standard library only (no pathlib, no json, no contextlib: the request is
:mod:`marshal`'s, read by a process of the same user and the same interpreter). Anything
unexpected (no server yet, one whose code changed, a folder another user could have put a
socket in) means the command runs in this process, as before; the first such command starts
a server for the next ones (at most :data:`MAX_SERVERS` a user, none for a task's command).
``CONVEYOR_COMMAND_SERVER=off`` turns the server off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import signal
import socket
import stat
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType

#: The setting that turns the command server off (``off``, ``0``, ``false`` or ``no``), or
#: has it log each command line it serves (``debug``), in its log beside its socket.
SWITCH = "CONVEYOR_COMMAND_SERVER"

#: The commands served warm: reads and short writes that prompt for nothing and start no
#: long-lived work. A command not named here (the scheduler, the web server, a worker, a
#: DAG run, a backfill, the schema's migrations, anything that asks for a password) runs in
#: the process the user started.
QUICK_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("version",),
        ("info",),
        ("health",),
        ("jobs", "check"),
        ("plugins",),
        ("schedulers",),
        ("triggerers",),
        ("workers",),
        ("config", "show"),
        ("config", "get-value"),
        ("dags", "list"),
        ("dags", "show"),
        ("dags", "details"),
        ("dags", "list-runs"),
        ("dags", "errors"),
        ("dags", "list-import-errors"),
        ("dags", "report"),
        ("dags", "state"),
        ("dags", "next-execution"),
        ("dags", "trigger"),
        ("dags", "pause"),
        ("dags", "unpause"),
        ("runs", "list"),
        ("runs", "show"),
        ("tasks", "list"),
        ("tasks", "state"),
        ("tasks", "states-for-dag-run"),
        ("tasks", "why"),
        ("pools", "list"),
        ("pools", "get"),
        ("pools", "set"),
        ("pools", "export"),
        ("variables", "list"),
        ("variables", "get"),
        ("variables", "set"),
        ("variables", "export"),
        ("connections", "list"),
        ("connections", "get"),
        ("connections", "export"),
        ("audit", "list"),
        ("roles", "list"),
        ("users", "list"),
    }
)

#: Variables that differ between two calls from the same shell without changing what a
#: command does; every other variable is part of the server's identity (the server's modules
#: were imported under it).
VOLATILE_VARIABLES = frozenset({"_", "PWD", "OLDPWD", "SHLVL", "COLUMNS", "LINES"})

#: In the environment of a command a task runs (a BashOperator's): its try's ids.
TRY_MARK = "AIRFLOW_CTX_DAG_ID"

#: The most servers a user has at once (each environment has its own, about 90 MiB each):
#: a command of yet another environment runs cold and starts none.
MAX_SERVERS = 4

#: How long a client waits for the server to take its command line before running it itself
#: (a server still importing after its start, or one that hangs). The command runs once
#: whatever happens: the server's child waits for the client's go before it starts.
ACCEPT_TIMEOUT_SECONDS = 10.0

#: Signals the client passes on to the command's process group (Ctrl-C, a ``kill``).
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

#: The length of a server's key, in hexadecimal digits.
KEY_LENGTH = 24

#: The longest path a Unix socket may have (108 bytes on Linux, 104 on macOS, with its NUL).
SOCKET_PATH_LIMIT = 104

#: The length prefix of the request.
_LENGTH = struct.Struct("!I")


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether quick commands go to a server: on Linux (a socket's peer is known there, as
    ``SO_PEERCRED``), not in a task's command (its environment is its try's, a server's key
    of its own for every try), unless the setting turns it off."""
    if not sys.platform.startswith("linux") or TRY_MARK in environ:
        return False
    return environ.get(SWITCH, "on").strip().lower() not in {"off", "0", "false", "no"}


def is_quick(argv: Sequence[str]) -> bool:
    """Whether the command line names a quick command. Options before the command (``-v``)
    send it to the process the user started: the server's children log as a plain start."""
    if not argv:
        return False
    return tuple(argv[:1]) in QUICK_COMMANDS or tuple(argv[:2]) in QUICK_COMMANDS


def runtime_dir(environ: Mapping[str, str]) -> str | None:
    """The folder of this user's command servers, made 0700 if missing; None when it is not
    this user's alone (another user could have put a socket there to read the commands'
    environment and terminals), or too deep for a socket's path."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        folder = os.path.join(runtime, "conveyor")
    else:
        folder = os.path.join(environ.get("TMPDIR") or "/tmp", f"conveyor-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        found = os.lstat(folder)
    except OSError:
        return None
    private = stat.S_ISDIR(found.st_mode) and not found.st_mode & 0o077
    fits = len(os.fsencode(server_files(folder, "k" * KEY_LENGTH)[0])) < SOCKET_PATH_LIMIT
    return folder if private and fits and found.st_uid == os.getuid() else None


def server_key(environ: Mapping[str, str]) -> str:
    """What a server's modules were imported under: the interpreter and its environment
    (virtualenv), its flags, where Conveyor is installed, and the environment variables."""
    digest = hashlib.sha256()
    interpreter = (sys.prefix, os.path.realpath(sys.executable), repr(sys.flags))
    for part in (*interpreter, repr(sys._xoptions), os.path.dirname(__file__)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for name in sorted(set(environ) - VOLATILE_VARIABLES):
        digest.update(f"{name}={environ[name]}".encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()[:KEY_LENGTH]


def server_files(folder: str, key: str) -> tuple[str, str, str]:
    """The socket, lock and log of the server of ``key``."""
    stem = os.path.join(folder, f"cli-{key}")
    return f"{stem}.sock", f"{stem}.lock", f"{stem}.log"


def run_served(argv: Sequence[str]) -> int | None:
    """Run a quick command through this user's command server and return its exit status;
    None when it was not run (not a quick command, the server off or not started yet):
    the caller runs it. A server missing for a quick command is started for the next one."""
    if not (is_quick(argv) and enabled(os.environ)):
        return None
    folder = runtime_dir(os.environ)
    if folder is None:
        return None
    key = server_key(os.environ)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(server_files(folder, key)[0])
    except OSError:  # none yet, or one that died: this command runs here, the next warm
        connection.close()
        if servers_running(folder) < MAX_SERVERS:
            start_server(folder, key)
        return None
    with connection:
        return _served(connection, argv, folder, key)


def _served(connection: socket.socket, argv: Sequence[str], folder: str, key: str) -> int | None:
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        cwd = os.getcwd()
    except OSError:  # a folder removed under the shell: the command says what it can here
        return None
    request = marshal.dumps(
        {"argv": list(argv), "cwd": cwd, "env": dict(os.environ), "umask": umask}
    )
    connection.settimeout(ACCEPT_TIMEOUT_SECONDS)
    replies = connection.makefile("rb")
    try:
        socket.send_fds(connection, [_LENGTH.pack(len(request)) + request], [0, 1, 2])
        accepted = replies.readline().split()
    except OSError:  # a closed stdin, a server gone or too slow: the command runs here
        return None
    if accepted[:1] != [b"pid"]:
        if accepted == [b"stale"]:  # the server's code changed under it: it leaves
            start_server(folder, key)
        return None
    pid = int(accepted[1])
    connection.settimeout(None)
    previous = {sig: signal.signal(sig, _forwarder(pid)) for sig in FORWARDED_SIGNALS}
    try:
        connection.sendall(b"go\n")
        ended = replies.readline().split()
    except OSError:
        ended = []
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if ended[:1] != [b"exit"]:
        print("Error: the command server ended without the command's status", file=sys.stderr)
        return 1
    return int(ended[1])


def _forwarder(pid: int) -> Callable[[int, FrameType | None], None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        try:  # noqa: SIM105 - contextlib is not imported here
            os.killpg(pid, signum)
        except ProcessLookupError:  # it has just ended
            pass

    return forward


def servers_running(folder: str) -> int:
    """How many of the folder's sockets a server answers on."""
    count = 0
    for name in os.listdir(folder):
        if name.startswith("cli-") and name.endswith(".sock"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(os.path.join(folder, name))
                    count += 1
                except OSError:  # a server gone: its socket stays until the next one
                    pass
    return count


def start_server(folder: str, key: str) -> None:
    """Start a command server for this environment in a session of its own: it outlives
    this command, takes the next ones, and leaves after a while without any."""
    import subprocess  # only when a server must start

    log = server_files(folder, key)[2]
    command = [sys.executable, "-m", "conveyor.cli.command_server", str(folder), key]
    if os.environ.get(SWITCH, "").strip().lower() == "debug":
        command.append("--debug")
    try:
        with open(log, "ab", buffering=0) as output:
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                cwd="/",
            )
    except OSError:  # no server: the commands run as they did
        pass
