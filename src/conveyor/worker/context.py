"""What a running task sees: the template/callable context and its ``ti`` handle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from conveyor.clock import utcnow
from conveyor.connections import template_context
from conveyor.exceptions import TaskError
from conveyor.model.dag import DAG
from conveyor.model.task import BaseOperator
from conveyor.model.templating import standard_context
from conveyor.model.xcom_arg import RETURN_VALUE
from conveyor.store.engine import Store
from conveyor.store.mapping import xcom_value
from conveyor.store.runs import RunRow
from conveyor.store.sql import upsert
from conveyor.store.tables import xcom


def check_json(value: Any, what: str) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TaskError(f"{what} is not JSON serializable ({exc}); return plain data") from exc
    return value


def upsert_xcom(
    conn: Connection, run_pk: int, task_id: str, key: str, value: Any, map_index: int = -1
) -> None:
    """Insert or replace one XCom value (of one instance, for a mapped task)."""
    upsert(
        conn,
        xcom,
        {
            "run_pk": run_pk,
            "task_id": task_id,
            "key": key,
            "value": value,
            "created_at": utcnow(),
            "map_index": map_index,
        },
        key=["run_pk", "task_id", "key", "map_index"],
    )


class TaskInstanceHandle:
    """``context["ti"]``: the running try, with XCom push and pull."""

    def __init__(
        self,
        store: Store,
        run: RunRow,
        task: BaseOperator,
        try_number: int,
        max_tries: int,
        hostname: str,
        log_path: str | None,
        map_index: int = -1,
        home: Path | None = None,
    ) -> None:
        self._store = store
        self.home = home  # the worker's $CONVEYOR_HOME (virtualenv caches live there)
        self.map_index = map_index  # {{ ti.map_index }}: which instance of a mapped task
        self._run = run
        self.task = task
        self.dag_id = run.dag_id
        self.run_id = run.run_id
        self.task_id = task.task_id
        self.try_number = try_number
        self.max_tries = max_tries
        self.hostname = hostname
        self.log_path = log_path

    def xcom_push(self, key: str, value: Any) -> None:
        check_json(value, f"XCom {key!r} of task {self.task_id!r}")
        with self._store.write() as conn:
            upsert_xcom(conn, self._run.id, self.task_id, key, value, self.map_index)

    def xcom_pull_one(self, task_id: str, key: str = RETURN_VALUE) -> Any:
        """A task's XCom; of a mapped task, the list of its instances' values in order."""
        with self._store.read() as conn:
            return xcom_value(conn, self._run.id, task_id, key)

    def xcom_pull(
        self,
        task_ids: str | list[str] | None = None,
        key: str = RETURN_VALUE,
        **_airflow: Any,  # dag_id=, include_prior_dates=, map_indexes=: this run's, as given
    ) -> Any:
        """One task id: its value. A list: a list of values. None: this task's upstream.

        A key the task did not push is looked up in the dict the task returned, if any.
        """
        if isinstance(task_ids, str):
            return self._pull_key(task_ids, key)
        ids = list(task_ids) if task_ids is not None else sorted(self.task.upstream_task_ids)
        return [self._pull_key(tid, key) for tid in ids]

    def _pull_key(self, task_id: str, key: str) -> Any:
        value = self.xcom_pull_one(task_id, key)
        if value is None and key != RETURN_VALUE:
            returned = self.xcom_pull_one(task_id, RETURN_VALUE)
            if isinstance(returned, dict):
                return returned.get(key)
        return value

    def __repr__(self) -> str:
        return f"<TaskInstance {self.dag_id}.{self.task_id} {self.run_id} try {self.try_number}>"


def push_each_key(ti: TaskInstanceHandle, value: Any, task_id: str) -> None:
    """``multiple_outputs``: each key of the returned dict is an XCom of its own too."""
    if not isinstance(value, dict):
        raise TaskError(
            f"task {task_id!r} has multiple_outputs=True but returned "
            f"{type(value).__name__}, not a dict"
        )
    for key, item in value.items():
        if not isinstance(key, str):
            raise TaskError(f"task {task_id!r}: multiple_outputs keys must be strings, got {key!r}")
        ti.xcom_push(key, item)


def build_context(
    dag: DAG, task: BaseOperator, run: RunRow, ti: TaskInstanceHandle
) -> dict[str, Any]:
    logical = run.logical_date
    # A task's own params (Airflow's operator params=) sit between the DAG's and the run's.
    params = {**dag.params, **(getattr(task, "params", None) or {}), **(run.conf or {})}
    context = {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "dag_run": run,
        "run_id": run.run_id,
        "conf": run.conf,
        "params": params,
        "logical_date": logical,
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "ts": logical.isoformat(),
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "try_number": ti.try_number,
        **template_context(),  # conn and var: read lazily, only when a template uses them
    }
    return {**standard_context(context), **context}
