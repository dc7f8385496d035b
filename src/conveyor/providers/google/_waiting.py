"""The keywords of Airflow's google operators that only say how to wait for a job.

Conveyor waits for a BigQuery job in the worker, as Airflow does with ``deferrable=False``:
``deferrable``, ``poll_interval``, ``cancel_on_kill`` and ``result_retry`` change how long a
worker slot is held, never what runs, so they are taken and not used. Every operator pops
them from its keywords before ``BaseOperator`` sees them.
"""

from __future__ import annotations

from typing import Any

WAITING_KEYWORDS = ("deferrable", "poll_interval", "cancel_on_kill", "result_retry", "durable")


def drop_waiting(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` without the waiting keywords."""
    return {k: v for k, v in kwargs.items() if k not in WAITING_KEYWORDS}
