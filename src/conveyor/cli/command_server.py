"""A quick command line answered by a warm process: the server's side.

Started by the first quick command of an environment (:mod:`conveyor.cli.command_client`),
the server imports what the quick commands import (SQLAlchemy, pydantic, rich, the store's
and the web's reads, the DAG folder's scan) and then waits on a socket in its user's private
folder. For each command line it forks a child that takes the client's standard streams,
folder, environment and umask, waits for the client's go, and runs the command through
:func:`conveyor.cli.main.main` as a fresh process would; when the child ends, the server
sends its exit status to the client. The command line's own modules (``conveyor.cli.*``,
whose consoles bind the streams they were imported with) are imported by each child.

It leaves after :data:`IDLE_SECONDS` without a command, on SIGTERM, or as soon as a module
it imported changed on disk (an upgrade, an edited checkout), telling that client to start
a new one. Only one server runs for an environment: it holds a lock beside its socket.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import importlib
import io
import logging
import marshal
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from conveyor.cli.command_client import server_files

log = logging.getLogger("conveyor.command_server")

#: A server with nothing to do for this long leaves (its memory is the user's).
IDLE_SECONDS = 600.0

#: What a quick command imports, imported once here: each name brings its own imports. A
#: module missing from the installation (an extra not installed) is skipped.
PRELOAD = (
    "click",
    "rich.console",
    "rich.table",
    "rich.markup",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "conveyor.config",
    "conveyor.store.engine",
    "conveyor.store.schema_version",
    "conveyor.store.pools",
    "conveyor.store.timeline",
    "conveyor.store.audit",
    "conveyor.store.dag_actions",
    "conveyor.store.trigger",
    "conveyor.connections.repository",
    "conveyor.connections.forms",
    "conveyor.web.queries",
    "conveyor.web.dag_selection",
    "conveyor.logs",
    "conveyor.serialized",
    "conveyor.scheduler.explain",
    "conveyor.loading.builder",
    # What parsing a changed DAG file imports, in the child the folder's sync forks.
    "conveyor.loading.importer",
    # The command line itself, but for the modules that bind the standard streams as they
    # are imported (conveyor.cli.common's consoles): each child imports those.
    "conveyor.cli.main",
)

_LENGTH = struct.Struct("!I")
_PEER = struct.Struct("3i")  # SO_PEERCRED: pid, uid, gid
_REQUEST_KEYS = {"argv", "cwd", "env", "umask"}


def preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an extra not installed: its commands import it, or say so
            log.info("not preloaded: %s", name, exc_info=True)


def module_stamps() -> dict[str, int]:
    """Each imported module's file and its modification time."""
    stamps = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            with contextlib.suppress(OSError):
                stamps[path] = os.stat(path).st_mtime_ns
    return stamps


def changed(stamps: dict[str, int]) -> list[str]:
    """The files of ``stamps`` modified or removed since."""
    gone = []
    for path, mtime in stamps.items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                gone.append(path)
        except OSError:
            gone.append(path)
    return gone


class _NothingAsked(Exception):
    """A connection closed before it sent anything."""


class CommandServer:
    """Accepts command lines on ``path`` and runs each in a child of its own."""

    def __init__(self, path: Path, lock: int, idle_seconds: float = IDLE_SECONDS) -> None:
        self.path = path
        self.lock = lock
        self.idle_seconds = idle_seconds
        self.children: dict[int, socket.socket] = {}
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.wake_read, self.wake_write = os.pipe()
        self.stamps: dict[str, int] = {}
        self.bound = 0  # the socket file's inode
        self.stopping = False

    def bind(self) -> None:
        """Take the socket's path (a dead server's socket file is replaced)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.bound = os.stat(self.path).st_ino
        self.listener.listen(64)

    def serve(self) -> None:
        """Serve until idle, stopped or stale, then let the running commands end."""
        self.stamps = module_stamps()
        gc.freeze()  # what the preload made is shared with every child, never walked again
        for fd in (self.wake_read, self.wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector
        signal.signal(signal.SIGTERM, self._stop)
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        selector.register(self.wake_read, selectors.EVENT_READ)
        idle_since = time.monotonic()
        try:
            while not self.stopping or self.children:
                if self.stopping and self.listener.fileno() >= 0:
                    selector.unregister(self.listener)
                    self._close_listener()
                idle_for = time.monotonic() - idle_since
                if not self.children and idle_for >= self.idle_seconds:
                    break
                timeout = None if self.children else self.idle_seconds - idle_for
                for key, _ in selector.select(timeout):
                    if key.fileobj is self.listener and not self.stopping:
                        self._accept()
                    elif key.fd == self.wake_read:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self.wake_read, 4096)
                        self._reap()
                if self.children:
                    idle_since = time.monotonic()
        finally:
            signal.set_wakeup_fd(-1)
            self._close_listener()

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def _close_listener(self) -> None:
        """Take no more commands: the socket goes (a client finds none and runs its command
        itself), and so does the lock, so that the next server may start at once."""
        if self.listener.fileno() < 0:
            return
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.bound:  # ours, not a later server's
                self.path.unlink()
        self.listener.close()
        os.close(self.lock)

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        try:
            request, fds = self._read_request(connection)
        except _NothingAsked:  # a client counting the servers that answer
            connection.close()
            return
        except Exception:  # not this user's, or not a command line
            log.warning("a request refused", exc_info=True)
            connection.close()
            return
        try:
            if changed(self.stamps):
                log.info("a module changed on disk: leaving")
                with contextlib.suppress(OSError):
                    connection.sendall(b"stale\n")
                self.stopping = True
                connection.close()
                return
            pid = os.fork()
            if pid == 0:
                self._child(connection, fds, request)
        except OSError:  # no fork: the client runs the command itself
            connection.close()
            return
        finally:
            for fd in fds:
                os.close(fd)
        self.children[pid] = connection
        log.debug("pid %d: %s", pid, " ".join(request["argv"][:2]))
        with contextlib.suppress(OSError):  # a client gone: its child finds no go
            connection.sendall(b"pid %d\n" % pid)

    def _read_request(self, connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
        peer = _PEER.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        connection.settimeout(5.0)
        data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
        if not data and not fds:
            raise _NothingAsked
        try:
            if peer[1] != os.getuid() or len(fds) != 3:  # this user's commands, with streams
                raise ConnectionRefusedError
            while len(data) < _LENGTH.size + _LENGTH.unpack_from(data.ljust(4, b"\0"))[0]:
                more = connection.recv(1 << 16)
                if not more:
                    raise ConnectionResetError
                data += more
            request = marshal.loads(data[_LENGTH.size :])
            if not isinstance(request, dict) or set(request) != _REQUEST_KEYS:
                raise ValueError(f"not a command line: {type(request).__name__}")
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        connection.settimeout(None)
        return request, fds

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.children.pop(pid, None)
            if connection is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            with connection, contextlib.suppress(OSError):  # a client gone: nobody to tell
                connection.sendall(b"exit %d\n" % (128 - code if code < 0 else code))

    def _child(
        self, connection: socket.socket, fds: list[int], request: dict[str, Any]
    ) -> NoReturn:
        """The forked child: become the client's process and run its command line."""
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.listener.close()
            with contextlib.suppress(OSError):  # a server that took no more commands closed it
                os.close(self.lock)
            for other in self.children.values():
                other.close()
            os.close(self.wake_read)
            os.close(self.wake_write)
            os.setpgid(0, 0)  # the client's signals reach the command and what it starts
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            if connection.makefile("rb").readline() != b"go\n":  # the client gave up: run nothing
                os._exit(0)
            os.chdir(request["cwd"])
            os.umask(request["umask"])
            os.environ.clear()
            os.environ.update(request["env"])
            _reopen_standard_streams()
            sys.argv = ["conveyor", *request["argv"]]
        except BaseException:  # said on the client's stderr once it is ours, else the log's
            traceback.print_exc()
            os._exit(70)
        _run_command()


def _reopen_standard_streams() -> None:
    """Text streams on the client's descriptors, buffered as a fresh process buffers them
    (``sys.__stdout__`` and the like stay: their descriptors are the client's already)."""

    def reopened(fd: int, like: Any, line_buffering: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffered, encoding=like.encoding, errors=like.errors, line_buffering=line_buffering
        )

    sys.stdin = reopened(0, sys.stdin, False)
    sys.stdout = reopened(1, sys.stdout, os.isatty(1))
    sys.stderr = reopened(2, sys.stderr, True)


def _run_command() -> NoReturn:
    from conveyor.cli import quick_exit

    code: object = 0
    try:
        from conveyor.cli.main import main

        main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        traceback.print_exc()
        code = 1
    quick_exit.leave(code)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve quick conveyor command lines.")
    parser.add_argument("folder")
    parser.add_argument("key")
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    parser.add_argument("--debug", action="store_true", help="log each command line")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(process)d %(message)s",
    )
    path, lock_path, _ = server_files(args.folder, args.key)
    lock = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another server took this environment first
        return
    server = CommandServer(Path(path), lock, args.idle_seconds)
    server.bind()  # clients wait in the backlog while the modules load
    preload()
    log.info("serving on %s", path)
    server.serve()


if __name__ == "__main__":
    main()
