"""The one warm fork server that DAG parsing and task tries are forked from.

Both the DAG file processor and the local executor start children through this context, so
whichever starts first, the fork server comes up with Conveyor already imported.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import signal
import threading
import time
import weakref
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import ForkServerContext, ForkServerProcess, set_spawning_popen
from typing import Any

#: What parsing a DAG file needs: the processor imports it only in its parse children, so
#: that a process that only scans the folder (the command line's reads) does without.
PARSE_MODULES = (
    "conveyor.loading.processor",
    "conveyor.loading.importer",
    "conveyor.loading.namespaces",
    "conveyor.airflow_compat.plugins",
    "conveyor.operators",
    "conveyor.decorators",
)

PRELOAD = [
    # Ignored by Python 3.11 and 3.12 (CPython gh-126631, fixed in later 3.13 releases);
    # children skip re-running the main script anyway (see _Popen).
    "__main__",
    # The drivers, first: SQLAlchemy imports them only when a store's engine is made, which in
    # a try's process would cost ~2 ms (sqlite3) or ~40 ms (psycopg) on every hop; and
    # executors.fork_server_warmup warms the engine of each driver loaded. A missing one is
    # skipped: the fork server ignores preload modules that fail to import.
    "sqlite3",
    "psycopg",
    "conveyor.worker.runner",
    "conveyor.executors.local",  # where a try's entry point lives: unpickled by each child
    *PARSE_MODULES,
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    # Where installed (the airflow extra), a try's context dates are pendulum's
    # (clock.context_moment): imported here, not in the first try of every runner.
    "pendulum",
    # Last: it runs a hop once, so that children start with its statements compiled.
    "conveyor.executors.fork_server_warmup",
]

#: Modules a process's settings add to the preload (``preload_also``): OpenLineage's client
#: and the OpenTelemetry SDK cost the fork server a third more to import, paid by every
#: process that starts one, so they are preloaded only where lineage or traces are on.
_EXTRA: list[str] = []


#: Preparation data that makes a child re-run the parent's main script.
_MAIN_KEYS = ("init_main_from_name", "init_main_from_path")


class _Popen(popen_forkserver.Popen):
    """Starts a child of the fork server without re-running the parent's ``__main__`` in it.

    multiprocessing re-runs the parent's main script in every forkserver child, in case the
    target was defined there, and on Python 3.11 and 3.12 the fork server cannot preload it
    (CPython gh-126631). Our targets never live in ``__main__``, and the re-run costs each
    child the script's imports again: the whole CLI for ``conveyor scheduler``, about 70 ms
    per try in bench/local_executor.py. The body is CPython's ``_launch`` (unchanged from 3.11
    to 3.14) minus those keys, unless the target is in ``__main__``.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        target_module = getattr(process_obj._target, "__module__", None)
        if target_module not in ("__main__", "__mp_main__"):
            for key in _MAIN_KEYS:
                prep_data.pop(key, None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        _start_server_deaf_to_ctrl_c()
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the child watches this pipe to notice that its parent died
        close = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)
        _started.add(self)


#: Children started and not yet collected, for :func:`kill_children`.
_started: weakref.WeakSet[_Popen] = weakref.WeakSet()


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


class _Context(ForkServerContext):
    Process = _Process


_context = _Context()


def fork_context() -> ForkServerContext:
    # The warm-up stays last: it runs a hop with everything else imported.
    _context.set_forkserver_preload([*PRELOAD[:-1], *_EXTRA, PRELOAD[-1]])
    return _context


def preload_also(*modules: str) -> None:
    """Have the fork server import these too, when it starts after this call (a try's
    runner imports what it lacks itself, once: runners are long-lived)."""
    _EXTRA.extend(name for name in modules if name not in _EXTRA)


def warm_up() -> None:
    """Start the fork server now, so its one-time import cost is not paid by the first child."""
    fork_context()
    _start_server_deaf_to_ctrl_c()


def _start_server_deaf_to_ctrl_c() -> None:
    """Start the fork server (and multiprocessing's resource tracker) if it is not running,
    with SIGINT ignored from their first instruction.

    A terminal's Ctrl-C goes to the whole process group. The fork server ignores SIGINT only
    once its preload is imported, seconds on a busy machine; a Ctrl-C before that killed it
    with a KeyboardInterrupt, and the command then failed on a closed pipe instead of
    stopping. An ignored signal stays ignored across ``exec``, so it is ignored while it
    starts. Only the main thread may change a handler; another thread starts it as before.
    """
    if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
        return
    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def adopt_environment(environ: dict[str, str]) -> None:
    """In a child: take the parent's current environment.

    A fork server child inherits the environment the server started with, not the one its
    parent has now; DAG files and tasks must see the latter, as after a plain fork.
    """
    os.environ.clear()
    os.environ.update(environ)


def kill_children() -> None:
    """SIGKILL every child started through this module that has not been reaped, and the
    fork server: for a forced exit (a second Ctrl-C), so none lives on with our pipes."""
    for popen in list(_started):
        if popen.returncode is None and popen.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                # A try's process leads its own group: what it started goes with it.
                if os.getpgid(popen.pid) == popen.pid:
                    os.killpg(popen.pid, signal.SIGKILL)
                else:
                    os.kill(popen.pid, signal.SIGKILL)
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if server:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server, signal.SIGKILL)


def stop_group_when_gone(pid: int) -> None:
    """When process ``pid`` (this one's executor) ends, SIGTERM this process's group.

    A try's process leads a process group of its own (so that stopping the try reaches what
    it started); a SIGKILL to its executor's group then misses it, and it would run on,
    holding the executor's output pipes, maybe forever (a command waiting on a host that
    never answers). Its parent is no sign: a fork server outlives its executor while any
    child it made lives. So the process watches the executor itself and stops its try as
    the executor would have: SIGTERM to the group, the task's ``on_kill``, then the end.
    """
    try:
        watched = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or the executor is gone already
        watched = None

    def watch() -> None:
        if watched is not None:
            select.select([watched], [], [])  # readable once the process has ended
        else:
            while pid_alive(pid):
                time.sleep(1.0)
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGTERM)

    threading.Thread(target=watch, name="conveyor-executor-watch", daemon=True).start()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
