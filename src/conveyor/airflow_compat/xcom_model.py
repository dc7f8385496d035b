"""``airflow.models.XCom``: the classmethods DAG code calls to read and write XComs.

A thin face over the store's XCom functions, on the store the running try uses. XCom values
are strict JSON here (not pickles, not arbitrary objects): ``set`` refuses anything else with
an error naming the key and task, and keeps a masked copy of any secret the try read for the
UI and API, as ``ti.xcom_push`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from conveyor import xcom_serde
from conveyor.airflow_compat.exceptions import DagRunNotFound
from conveyor.airflow_compat.task_instance_lookup import as_utc
from conveyor.connections import current_settings, current_store, masking
from conveyor.exceptions import AirflowException, NotFoundError
from conveyor.store import xcom as xcom_store
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads.runs import RunListing
from conveyor.strict_json import NotStrictJson, check

XCOM_RETURN_KEY = "return_value"

#: The XCom rows ``get_many`` answers: ``.key``, ``.value``, ``.task_id``, ``.dag_id``,
#: ``.run_id``, ``.map_index``, ``.timestamp``, ``.logical_date``.
XComRow = xcom_store.XComEntry


class XComRows(list[XComRow]):
    """``get_many``'s answer: a list, with the query methods DAG code calls on Airflow's
    (``.all()``, ``.first()``); any other query method is a list's AttributeError."""

    def all(self) -> list[XComRow]:
        return list(self)

    def first(self) -> XComRow | None:
        return self[0] if self else None


def _run(conn: Any, dag_id: str, run_id: str | None, execution_date: datetime | None) -> RunListing:
    if run_id is not None:
        try:
            return run_reads.get_run(conn, dag_id, run_id)
        except NotFoundError:
            raise DagRunNotFound(f"DAG {dag_id!r} has no run {run_id!r}") from None
    if execution_date is None:
        raise ValueError(f"XCom of DAG {dag_id!r}: give run_id= (or execution_date=)")
    found = run_reads.run_dated(conn, dag_id, as_utc(execution_date))
    if found is None:
        raise DagRunNotFound(f"DAG {dag_id!r} has no run dated {execution_date.isoformat()}")
    return found


def _ids(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _indexes(value: int | Iterable[int] | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, int) else tuple(value)


def _strict(value: Any, what: str) -> Any:
    """``value`` as the store keeps it as an XCom (``xcom_serde``'s writing of what JSON has
    no type for, then strict JSON); NotStrictJson for a value neither can keep."""
    rule = "XCom values are JSON, or of the kinds Airflow's serialization writes"
    try:
        written = xcom_serde.encode(value)
        json.dumps(written, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise NotStrictJson(f"{what} is not JSON ({exc}); {rule}") from None
    check(written, what)
    return written


def _read_back(value: Any) -> Any:
    """A stored value as its type, by the classes the settings allow to be read back."""
    return xcom_serde.decode(value, xcom_serde.allowed_by(current_settings()))


class XCom:
    """Airflow's XCom model, as classmethods (no ORM rows, no ``session=``)."""

    @classmethod
    def set(
        cls,
        key: str,
        value: Any,
        task_id: str,
        dag_id: str,
        execution_date: datetime | None = None,
        session: Any = None,
        *,
        run_id: str | None = None,
        map_index: int = -1,
    ) -> None:
        """Store ``value`` under ``key`` for that task of that run (replacing what was there)."""
        _strict(key, f"the key of XCom {key!r} of task {dag_id}.{task_id}")
        value = _strict(value, f"XCom {key!r} of task {dag_id}.{task_id}")
        store, _settings = current_store()
        with store.write() as conn:
            run = _run(conn, dag_id, run_id, execution_date)
            shown = masking.redact_value(value)
            xcom_store.upsert_xcom(
                conn,
                run.id,
                task_id,
                key,
                value,
                map_index,
                shown=None if shown == value else shown,
            )

    @classmethod
    def get_many(
        cls,
        execution_date: datetime | None = None,
        key: str | None = None,
        task_ids: str | Iterable[str] | None = None,
        dag_ids: str | Iterable[str] | None = None,
        map_indexes: int | Iterable[int] | None = None,
        include_prior_dates: bool = False,
        limit: int | None = None,
        session: Any = None,
        *,
        run_id: str | None = None,
    ) -> XComRows:
        """The matching XComs, newest run first. ``include_prior_dates``: of the runs dated
        at or before the given run's (or ``execution_date``) too, as in Airflow."""
        dags = _ids(dag_ids)
        up_to: datetime | None = None
        store, _settings = current_store()
        with store.read() as conn:
            if include_prior_dates:
                if execution_date is not None:
                    up_to = as_utc(execution_date)
                elif run_id is not None and dags and len(dags) == 1:
                    up_to = _run(conn, dags[0], run_id, None).logical_date
            elif run_id is None and execution_date is not None:
                if not dags or len(dags) != 1:
                    raise ValueError("XCom.get_many by execution_date: give one dag_ids=")
                run_id = _run(conn, dags[0], None, execution_date).run_id
            query = xcom_store.XComQuery(
                dag_ids=dags,
                run_id=run_id,
                up_to=up_to,
                task_ids=_ids(task_ids),
                key=key,
                map_indexes=_indexes(map_indexes),
            )
            return XComRows(xcom_store.find_xcoms(conn, query, limit))

    @classmethod
    def get_one(
        cls,
        execution_date: datetime | None = None,
        key: str | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        include_prior_dates: bool = False,
        session: Any = None,
        *,
        run_id: str | None = None,
        map_index: int | None = None,
    ) -> Any:
        """The value of the first matching XCom (None when there is none)."""
        found = cls.get_many(
            execution_date=execution_date,
            key=key,
            task_ids=task_id,
            dag_ids=dag_id,
            map_indexes=map_index,
            include_prior_dates=include_prior_dates,
            limit=1,
            run_id=run_id,
        )
        return _read_back(found[0].value) if found else None

    @classmethod
    def get_value(cls, *, ti_key: Any, key: str | None = None, session: Any = None) -> Any:
        """Airflow's lookup by a task instance key (``dag_id``, ``task_id``, ``run_id``,
        ``map_index``)."""
        return cls.get_one(
            key=key,
            task_id=ti_key.task_id,
            dag_id=ti_key.dag_id,
            run_id=ti_key.run_id,
            map_index=getattr(ti_key, "map_index", -1),
        )

    @classmethod
    def clear(
        cls,
        execution_date: datetime | None = None,
        dag_id: str | None = None,
        task_id: str | None = None,
        session: Any = None,
        *,
        run_id: str | None = None,
        map_index: int | None = None,
    ) -> None:
        """Delete the XComs of that task of that run (of one map index, when given)."""
        if dag_id is None or task_id is None:
            raise ValueError("XCom.clear needs dag_id= and task_id= (and run_id=)")
        store, _settings = current_store()
        with store.write() as conn:
            run = _run(conn, dag_id, run_id, execution_date)
            xcom_store.delete_xcoms(conn, run.id, task_id, map_index)

    @classmethod
    def delete(cls, xcoms: XComRow | Iterable[XComRow], session: Any = None) -> None:
        """Delete XComs ``get_many`` returned."""
        rows = [xcoms] if isinstance(xcoms, xcom_store.XComEntry) else list(xcoms)
        for row in rows:
            if not isinstance(row, xcom_store.XComEntry):
                raise AirflowException(
                    f"XCom.delete takes rows of XCom.get_many, got {type(row).__name__}"
                )
        store, _settings = current_store()
        with store.write() as conn:
            for row in rows:
                run = _run(conn, row.dag_id, row.run_id, None)
                xcom_store.delete_instance_xcom(conn, run.id, row.task_id, row.map_index, row.key)

    @staticmethod
    def serialize_value(value: Any, **_where: Any) -> str:
        """The JSON text stored for ``value`` (Airflow's serialization; no pickles)."""
        return json.dumps(_strict(value, "an XCom value"))

    @staticmethod
    def deserialize_value(result: Any) -> Any:
        """The value of an XCom row (or of the JSON text ``serialize_value`` made)."""
        if isinstance(result, xcom_store.XComEntry):
            return _read_back(result.value)
        return _read_back(json.loads(result) if isinstance(result, str | bytes) else result)

    @classmethod
    def purge(cls, xcom: Any, session: Any = None) -> None:
        """Nothing to purge: Conveyor keeps XComs in the store, not in outside storage."""
