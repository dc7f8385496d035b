"""Conveyor's event JSON is OpenLineage's ``Serde.to_json`` to the letter: for a try's event
with SQL datasets and its code, a marked try's, a DAG run's, and an object of every kind of
value the rules treat apart."""

from __future__ import annotations

import enum
import json
import sqlite3
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attr
import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from conveyor import DAG, PythonOperator
from conveyor.lineage import events, extraction
from conveyor.lineage.serialize import to_json
from conveyor.providers.openlineage.sql import lineage_of_sql
from conveyor.providers.sqlite import SqliteHook

WHEN = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)


def _load(rows: int) -> int:
    return rows


def _try(task: Any) -> SimpleNamespace:
    run = SimpleNamespace(
        logical_date=WHEN,
        data_interval_start=WHEN,
        data_interval_end=WHEN,
        conf={"day": "2026-12-01", "nothing": None, "list": [1, None, {}]},
        dag_id="nightly",
        run_id="scheduled__2026-12-02",
        run_type="scheduled",
        state="running",
        start_date=WHEN,
        end_date=None,
    )
    return SimpleNamespace(
        task=task,
        dag_run=run,
        dag_id="nightly",
        task_id=task.task_id,
        try_number=2,
        map_index=3,
        duration=None,
        pool="default_pool",
        log_url="http://ui/log",
        start_date=WHEN,
    )


def _task_with_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    path = tmp_path / "app.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("CONVEYOR_CONN_LITE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    with DAG("nightly", schedule=None, start_date=WHEN, tags=["etl"]):
        task = PythonOperator(task_id="load", python_callable=_load, op_args=[3])
    sql = lineage_of_sql(
        SqliteHook(sqlite_conn_id="lite"), "INSERT INTO totals SELECT day, sum(n) FROM counts"
    )
    assert sql is not None
    code = extraction.lineage_of(task, extraction.COMPLETE, _try(task))
    return task, code.merge(sql)


@pytest.mark.parametrize("state", [RunState.START, RunState.COMPLETE, RunState.FAIL])
def test_a_tries_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: RunState) -> None:
    task, lineage = _task_with_sql(tmp_path, monkeypatch)
    error = ValueError("the rows ran out") if state is RunState.FAIL else None
    event = events.task_event(state, "team", _try(task), lineage, error=error)
    assert event.inputs and event.job.facets["sourceCode"]
    assert to_json(event) == Serde.to_json(event)


def test_a_marked_try_and_a_dag_runs_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task, _ = _task_with_sql(tmp_path, monkeypatch)
    ti = _try(task)
    marked = events.marked_task_event(RunState.FAIL, "team", ti, error="marked by hand")
    ended = events.dag_run_event(
        RunState.COMPLETE,
        "team",
        ti.dag_run,
        msg="success",
        task_states=[("load", "success", 1.5), ("skip", None, 0.0)],
    )
    for event in (marked, ended):
        assert to_json(event) == Serde.to_json(event)


class _Colour(enum.Enum):
    RED = "red"


class _Kind(enum.StrEnum):
    TABLE = "table"


class int64(int):
    pass


class _Opaque:
    pass


@attr.define
class _Inner:
    name: str
    missing: Any = None


@attr.define
class _Everything:
    _producer: str
    colour: _Colour
    kind: _Kind
    when: datetime
    day: date
    id: uuid.UUID
    pair: tuple[Any, ...]
    members: frozenset[str]
    items: list[Any]
    mapping: dict[str, Any]
    count: Any
    opaque: Any
    nested: list[Any]
    flags: tuple[bool, float, None]


def test_every_kind_of_value() -> None:
    value = _Everything(
        producer="https://example.invalid/p",
        colour=_Colour.RED,
        kind=_Kind.TABLE,
        when=WHEN,
        day=date(2026, 12, 2),
        id=uuid.UUID(int=7),
        pair=(1, None, _Inner("a")),
        members=frozenset({"only"}),
        items=[None, {}, _Inner("b"), {"k": None}, [], [None], _Colour.RED],
        mapping={"a": None, "b": {}, "c": _Inner("c"), "d": [None, {}], "e": (_Kind.TABLE,)},
        count=int64(5),
        opaque=_Opaque(),
        nested=[[_Inner("x", missing={"z": None})], ({"y": 1},)],
        flags=(True, 1.5, None),
    )
    assert to_json(value) == Serde.to_json(value)
    assert '"_producer"' in to_json(value) and "non-serializable: _Opaque" in to_json(value)
