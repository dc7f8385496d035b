"""``airflow.api.common.trigger_dag.trigger_dag``: start a run of a DAG from Python code.

Task code written for Airflow calls it to start another DAG (often with a computed run id and
conf). Here it queues a manual run in the store the running try uses (elsewhere, the
configured one), with the same conf check as every other way of triggering a run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from conveyor.airflow_compat.exceptions import DagNotFound, DagRunAlreadyExists
from conveyor.clock import utcnow
from conveyor.connections import current_store
from conveyor.exceptions import NotFoundError, TaskError
from conveyor.model.runtime import get_current_context
from conveyor.store import trigger
from conveyor.store.runs import RunRow


def _made_by() -> str:
    try:
        ti = get_current_context()["ti"]
    except TaskError:  # not inside a try
        return "trigger_dag"
    return f"trigger_dag in task {ti.dag_id}.{ti.task_id} ({ti.run_id})"


def trigger_dag(
    dag_id: str,
    run_id: str | None = None,
    conf: dict[str, Any] | str | None = None,
    execution_date: datetime | None = None,
    replace_microseconds: bool = True,
    **_session: Any,
) -> RunRow:
    """Queue a manual run of ``dag_id`` and return it (``run_id``, ``logical_date``, ``conf``,
    ``state``). ``DagRunAlreadyExists`` when the DAG has that run id or logical date already,
    ``DagNotFound`` when no DAG file defines it."""
    when = execution_date or utcnow()
    if replace_microseconds:
        when = when.replace(microsecond=0)
    payload = json.loads(conf) if isinstance(conf, str) else dict(conf or {})
    store, _settings = current_store()
    try:
        with store.write() as conn:
            return trigger.trigger_run(
                conn, dag_id, created_by=_made_by(), conf=payload, logical_date=when, run_id=run_id
            )
    except trigger.RunExists as exc:
        raise DagRunAlreadyExists(str(exc)) from None
    except NotFoundError as exc:
        raise DagNotFound(f"Dag id {dag_id} not found: {exc}") from None
