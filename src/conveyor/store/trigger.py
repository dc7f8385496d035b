"""The one way a manual run is made: its conf checked against the DAG's params and its run
id against the rule, then the run created (see conveyor.model.params)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from conveyor.model.params import ConfRefused, conf_errors
from conveyor.run_ids import check_run_id
from conveyor.store import runs


def trigger_run(
    conn: Connection,
    dag_id: str,
    *,
    created_by: str,
    conf: dict[str, Any] | None = None,
    logical_date: datetime | None = None,
    run_id: str | None = None,
) -> int | None:
    """Queue a manual run of the DAG's newest version; its pk, or None if the DAG already
    has a run of that id. Raises ConfRefused (a ValueError) for a conf its params refuse,
    NotFoundError for a DAG that is not registered."""
    if run_id is not None:
        check_run_id(run_id)
    _version, structure = runs.latest_version(conn, dag_id)
    errors = conf_errors(dag_id, structure.params, conf or {}, structure.param_specs)
    if errors:
        raise ConfRefused(errors)
    return runs.create_manual_run(
        conn,
        dag_id,
        created_by=created_by,
        conf=conf,
        logical_date=logical_date,
        run_id=run_id,
    )
