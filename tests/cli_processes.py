"""Real ``conveyor`` processes for tests, always stopped with everything they started.

A test that starts a command and stops it by hand leaks it when an assertion fails first,
or when the command does not stop: a ``communicate(timeout=...)`` that raises leaves the
process running and its pipe to be closed by the garbage collector, in whichever test runs
next (an unclosed-file ``ResourceWarning``, which ``filterwarnings = error`` turns into that
other test's failure). So each command runs here in a session (process group) of its own,
its output is read by a thread (a full pipe never blocks it) and kept, and on the way out
its whole group gets SIGKILL and its pipe is closed, whatever happened.
``end_leftovers`` is the conftest's guard for a process a test left behind all the same.

Imported as ``cli_processes`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

#: Runs ``conveyor ARGS`` through its console entry point, then writes to argv[1] its exit
#: status, its pid, the modules it imported and whether it started a fork server.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    report, args = sys.argv[1], sys.argv[2:]
    sys.argv = ["conveyor", *args]
    from multiprocessing import forkserver
    from conveyor.cli.main import main
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    with open(report, "w") as out:
        json.dump(
            {"code": code, "pid": os.getpid(), "modules": sorted(sys.modules),
             "fork_server": server},
            out,
        )
    """
)

#: What Conveyor promises: Ctrl-C stops a command within this many seconds, whatever it does.
CTRL_C_LIMIT_SECONDS = 5.0


class CliProcess:
    """One running ``conveyor`` command, its output gathered as it comes."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path | None) -> None:
        self.popen = subprocess.Popen(
            [CONVEYOR, *args],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a Ctrl-C and the cleanup reach it all
        )
        self.pid = self.popen.pid
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._closed_at: float | None = None
        self._stop_reading = threading.Event()
        self._reader = threading.Thread(target=self._read, name=f"output of {self.pid}")
        self._reader.start()
        _running.add(self)
        _started[0] += 1

    def _read(self) -> None:
        """Gather the output by lines until its end, or until ``end`` gives up on it (a
        process that left the group would keep it open; a read blocked on it could not be
        stopped, and closing the pipe under it would wait for the read)."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        partial = b""
        while not self._stop_reading.is_set():
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *complete, partial = (partial + chunk).split(b"\n")
            with self._changed:
                self._lines += [line.decode(errors="replace") + "\n" for line in complete]
                self._changed.notify_all()
        else:
            return  # given up on: the output never ended
        with self._changed:
            if partial:
                self._lines.append(partial.decode(errors="replace"))
            self._closed_at = time.monotonic()
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        """The first output line matching ``pattern`` (a regular expression); AssertionError
        with the output so far if none comes within ``timeout`` seconds or the output ends."""
        found = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    if found.search(line):
                        return line
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or self._closed_at is not None:
                    raise AssertionError(
                        f"no line matching {pattern!r} within {timeout:g}s; output:\n"
                        + "".join(self._lines)
                    )
                self._changed.wait(left)

    def terminate(self) -> float:
        """SIGTERM to the command itself, as a service manager stops it; when it was sent."""
        sent = time.monotonic()
        self.popen.send_signal(signal.SIGTERM)
        return sent

    def ctrl_c(self) -> float:
        """SIGINT to the whole process group, as a terminal's Ctrl-C; the moment it was sent."""
        sent = time.monotonic()
        os.killpg(self.pid, signal.SIGINT)
        return sent

    def seconds_to_end(self, since: float, limit: float) -> float:
        """Seconds from ``since`` until the command exited and its output closed (every
        process it started let go of it), as whoever runs it sees its end; ``limit`` is
        the most that is waited for (AssertionError after it, with the output)."""
        try:
            self.popen.wait(timeout=max(since + limit - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"conveyor (pid {self.pid}) still running {limit:g}s on; output:\n{self.output}"
            ) from None
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed_at is not None, max(since + limit - time.monotonic(), 0)
            )
            if self._closed_at is None:
                raise AssertionError(
                    f"conveyor exited, but something it started still held its output "
                    f"{limit:g}s on; output:\n{''.join(self._lines)}"
                )
            return max(self._closed_at, since) - since

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def end(self) -> None:
        """SIGKILL the whole group (whatever is left of it) and the groups of every process
        it started (a try's runner leads a group of its own, so that a stop reaches the
        try's children), reap, wait until no member of it lives on, and close the pipe."""
        groups = {_group_of(pid) for pid in descendants(self.pid)} - {None, self.pid}
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)  # type: ignore[arg-type]
        self.popen.wait()
        # A killed process lives on for a moment (it may be tearing down its memory), and
        # one forked while the signal went out escapes it: kill again until the group is
        # only zombies, whose parent (or init) reaps them.
        deadline = time.monotonic() + 10
        while live_members(self.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            time.sleep(0.01)
        self._reader.join(timeout=10)  # EOF once the group is gone
        self._stop_reading.set()
        self._reader.join()
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        _running.discard(self)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name: state, ppid, pgrp, ..."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _group_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields else None


def descendants(pid: int) -> list[int]:
    """Every live process started by ``pid``, directly or not."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def live_members(group: int) -> list[int]:
    """Live processes of a process group (zombies do not count: they hold no pipe)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def running_with(*words: str) -> list[int]:
    """Live processes whose command line has each of ``words`` as one of its arguments."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if argv and all(w.encode() in argv for w in words) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


_running: set[CliProcess] = set()


@contextlib.contextmanager
def cli_process(
    args: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None
) -> Iterator[CliProcess]:
    """``conveyor ARGS...`` running for the block; ended with its group on the way out."""
    process = CliProcess(args, env, cwd)
    try:
        yield process
    finally:
        process.end()


def end_leftovers() -> list[str]:
    """End every process started here and still running; what they were, for a message."""
    left = list(_running)
    for process in left:
        process.end()
    return [" ".join(process.popen.args[1:]) for process in left]  # type: ignore[index]


def started_count() -> int:
    """How many processes were started here so far (the conftest's guard compares)."""
    return _started[0]


_started = [0]


def free_port() -> int:
    """A TCP port nothing listens on now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A command's environment: a home and an empty DAG folder (``dags``) under ``tmp_path``,
    quick scheduler loops and folder scans, 200 columns; ``extra`` on top."""
    dags = tmp_path / "dags"
    dags.mkdir()
    return {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
        "CONVEYOR_DAG_SCAN_SECONDS": "0.2",
        "COLUMNS": "200",
        **extra,
    }


def run_cli(
    env: Mapping[str, str], *args: str, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``conveyor ARGS`` run to its end, its output captured as text."""
    return subprocess.run(
        [CONVEYOR, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def store_cli(tmp: Path, store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli` on the store at ``store_url``, with a home under ``tmp``, 200 columns."""
    home = {"CONVEYOR_HOME": str(tmp / "home"), "CONVEYOR_DATABASE_URL": store_url}
    return run_cli({**os.environ, **home, "COLUMNS": "200"}, *args)


def run_script_fresh(tmp_path: Path, script: str, *args: str, **env: str) -> dict[str, Any]:
    """``script`` in a new interpreter, on an empty SQLite home of its own (no ``CONVEYOR_``
    setting of this process's, ``env`` on top); it writes a JSON report to its argv[1] (then
    ``args``), which is returned."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    environ["CONVEYOR_HOME"] = str(tmp_path / "home")
    environ.update(env)
    report = tmp_path / "found.json"
    done = subprocess.run(
        [sys.executable, "-c", script, str(report), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(report.read_text())
    return found
