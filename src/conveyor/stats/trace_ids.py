"""The ids of a DAG run's trace and of its task instances' spans, from what names them.

Airflow draws a run's trace id and span id at random and keeps them in the run's row (its
``context_carrier``), and a task instance's span id in the instance's row, so that the
scheduler, the API server and the worker each make their span with the same ids. Conveyor
derives them instead from what every one of its processes can read: the run (DAG id, run
id, and the start that a run cleared and started again renews, as Airflow's clear draws a
new carrier) and the task instance (task id, map index). No column holds them, and every
process that makes a span of the run arrives at the same ids.
"""

from __future__ import annotations

import hashlib
from datetime import datetime


def _digest(*parts: str, size: int) -> int:
    text = "\0".join(parts).encode()
    value = int.from_bytes(hashlib.blake2b(text, digest_size=size).digest(), "big")
    return value or 1  # W3C trace context: an id of zeros is invalid


def run_trace_id(dag_id: str, run_id: str, started: datetime | None) -> int:
    """The 128-bit trace id of one run of ``run_id`` (the run started at ``started``)."""
    return _digest("trace", dag_id, run_id, started.isoformat() if started else "", size=16)


def run_span_id(trace_id: int) -> int:
    """The 64-bit id of the run's ``dag_run`` span: the root of its trace."""
    return _digest("dag_run", f"{trace_id:032x}", size=8)


def task_span_id(trace_id: int, task_id: str, map_index: int) -> int:
    """The 64-bit id of the ``task_run`` span of a task instance of the run: the parent of
    its tries' ``worker`` spans. As Airflow's, the instance keeps it across its retries."""
    return _digest("task_run", f"{trace_id:032x}", task_id, str(map_index), size=8)
