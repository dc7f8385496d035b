"""The one warm fork server that DAG parsing and task tries are forked from.

Both the DAG file processor and the local executor start children through this context, so
whichever starts first, the fork server comes up with Conveyor already imported.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from multiprocessing.context import ForkServerContext

PRELOAD = [
    # The main module too: otherwise every child re-runs the `conveyor` script (and imports
    # the whole CLI) before it can start its work.
    "__main__",
    "conveyor.worker.runner",
    "conveyor.loading.processor",
    "conveyor.operators",
    "conveyor.decorators",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
]


def fork_context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context  # type: ignore[return-value]


def warm_up() -> None:
    """Start the fork server now, so its one-time import cost is not paid by the first child."""
    fork_context()
    multiprocessing.forkserver.ensure_running()
