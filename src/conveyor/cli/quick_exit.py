"""Leave the process without the interpreter's teardown, once a command's work is done.

The teardown of a process that imported SQLAlchemy, Jinja, the DAGs' libraries and ran a
scheduler frees every object one by one: 1 to 4 s on a loaded machine, after the command
has printed its last line, while a caller waiting for its exit (a script, a test, a bench
reading its output) waits for nothing. The exit handlers still run (logging's flush,
multiprocessing's goodbye to its fork server), and the output is flushed first.

A command says its work is done with :func:`mark_done` (``conveyor run`` does); the entry
point asks :func:`work_done` without importing the command's module.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

#: Set once a command's work is over and reported: the process may end without its teardown.
_done = threading.Event()


def mark_done() -> None:
    """Say that this process's command finished and printed its last line."""
    _done.set()


def work_done() -> bool:
    """Whether a command in this process finished and printed its last line."""
    return _done.is_set()


def exit_code(code: object) -> int:
    """The status ``SystemExit(code)`` gives: None is 0, an int itself, anything else 1
    (Python prints it on stderr, as it does here)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def leave(code: object) -> NoReturn:
    """Run the exit handlers, flush the output, and end the process with ``code``."""
    status = exit_code(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say there
            stream.flush()
    os._exit(status)
