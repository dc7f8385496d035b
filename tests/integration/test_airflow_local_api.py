"""Airflow's XCom model, local API client and ``get_task_instance`` in task code.

Through the real DAG file processor and scheduler with the local executor, on SQLite and
PostgreSQL: a task of one DAG reads a task instance of another DAG's run by its date, reads,
sets, lists and clears that task's XComs, triggers a run with a conf through the local
client, and uses its pool calls; each error is Airflow's exception.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import make_settings, run_until_finished
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, pool, xcom
from store_reads import returned, states_of

DAGS = """
from datetime import datetime

from airflow import DAG
from airflow.api.client.local_client import Client
from airflow.api.common.experimental.get_task_instance import get_task_instance
from airflow.exceptions import (
    AirflowException, DagNotFound, DagRunNotFound, PoolNotFound, TaskNotFound,
)
from airflow.models import XCom as ModelsXCom
from airflow.models.xcom import XCom
from airflow.operators.python import PythonOperator

START = datetime(2024, 1, 1)
WHEN = datetime(2024, 3, 1)


def produce(ti):
    ti.xcom_push(key="rows", value=7)
    return {"n": 1}


def inspect():
    target = get_task_instance("af_target", "produce", WHEN)
    facts = {
        "state": target.state, "task_id": target.task_id, "dag_id": target.dag_id,
        "run_id": target.run_id, "try_number": target.try_number,
        "map_index": target.map_index, "ended": target.end_date is not None,
    }
    for call, name in [
        (lambda: get_task_instance("af_nowhere", "produce", WHEN), "DagNotFound"),
        (lambda: get_task_instance("af_target", "nothing", WHEN), "TaskNotFound"),
        (lambda: get_task_instance("af_target", "produce", START), "DagRunNotFound"),
    ]:
        try:
            call()
        except (DagNotFound, TaskNotFound, DagRunNotFound) as exc:
            facts[name] = type(exc).__name__
    run_id = target.run_id
    facts["returned"] = XCom.get_one(key="return_value", dag_id="af_target",
                                     task_id="produce", run_id=run_id)
    facts["by_date"] = ModelsXCom.get_one(key="rows", dag_id="af_target", task_id="produce",
                                          execution_date=WHEN)
    XCom.set(key="extra", value={"from": "inspect"}, task_id="produce", dag_id="af_target",
             run_id=run_id)
    rows = XCom.get_many(dag_ids="af_target", task_ids="produce", run_id=run_id)
    facts["keys"] = sorted(row.key for row in rows)
    facts["extra"] = [r.value for r in rows if r.key == "extra"]
    first = XCom.get_many(key="rows", dag_ids=["af_target"], run_id=run_id).first()
    facts["first"] = [first.task_id, first.map_index, first.value, len(rows.all())]
    try:
        XCom.set(key="bad", value=b"raw", task_id="produce", dag_id="af_target", run_id=run_id)
    except ValueError as exc:
        facts["not_json"] = "XCom values are JSON" in str(exc)
    XCom.delete([r for r in rows if r.key == "rows"])
    facts["after_delete"] = XCom.get_one(key="rows", dag_id="af_target", task_id="produce",
                                         run_id=run_id)
    facts["serialized"] = XCom.deserialize_value(XCom.serialize_value({"a": [1]}))
    XCom.clear(dag_id="af_target", task_id="produce", run_id=run_id)
    facts["after_clear"] = XCom.get_many(dag_ids="af_target", run_id=run_id)
    return facts


def use_client():
    client = Client(None, None)
    made = client.trigger_dag("af_target", run_id="by_client", conf={"x": 1})
    facts = {"made": {k: made[k] for k in ("dag_id", "dag_run_id", "conf", "state",
                                           "run_type", "external_trigger")}}
    facts["created"] = list(client.create_pool("af_pool", 3, "for tests", False))
    facts["pool"] = list(client.get_pool("af_pool"))
    facts["pools"] = sorted(p[0] for p in client.get_pools())
    facts["deleted"] = list(client.delete_pool("af_pool"))
    try:
        client.get_pool("af_pool")
    except PoolNotFound:
        facts["gone"] = True
    for name, call in [("delete_dag", lambda: client.delete_dag("af_target")),
                       ("get_lineage", lambda: client.get_lineage("af_target", WHEN))]:
        try:
            call()
        except AirflowException as exc:
            facts[name] = "Conveyor" in str(exc)
    return facts


with DAG("af_target", start_date=START, schedule=None):
    PythonOperator(task_id="produce", python_callable=produce)

with DAG("af_reader", start_date=START, schedule=None):
    PythonOperator(task_id="inspect", python_callable=inspect)
    PythonOperator(task_id="use_client", python_callable=use_client)
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "local_api.py").write_text(textwrap.dedent(DAGS).lstrip("\n"))
    return dags


def test_xcom_model_local_client_and_get_task_instance(
    tmp_path: Path, folder: Path, store_url: str, store: Store
) -> None:
    settings = make_settings(tmp_path, folder, store_url)
    DagFileProcessor(store, folder, timeout=20, scan_every=60).sync()
    when = datetime(2024, 3, 1, tzinfo=UTC)
    with store.write() as conn:
        target = runs.create_manual_run(conn, "af_target", created_by="test", logical_date=when)
    assert target is not None
    run_until_finished(settings, store, [target], limit=60)
    with store.write() as conn:
        reader = runs.create_manual_run(conn, "af_reader", created_by="test")
    assert reader is not None
    run_until_finished(settings, store, [reader], limit=60)
    assert states_of(store, reader) == {"inspect": "success", "use_client": "success"}

    facts = returned(store, reader, "inspect")
    assert facts.pop("run_id").startswith("manual__")
    assert facts == {
        "state": "success",
        "task_id": "produce",
        "dag_id": "af_target",
        "try_number": 1,
        "map_index": -1,
        "ended": True,
        "DagNotFound": "DagNotFound",
        "TaskNotFound": "TaskNotFound",
        "DagRunNotFound": "DagRunNotFound",
        "returned": {"n": 1},
        "by_date": 7,
        "keys": ["extra", "return_value", "rows"],
        "extra": [{"from": "inspect"}],
        "first": ["produce", -1, 7, 3],
        "not_json": True,
        "after_delete": None,
        "serialized": {"a": [1]},
        "after_clear": [],
    }
    with store.read() as conn:
        left = conn.execute(select(xcom.c.key).where(xcom.c.run_pk == target)).all()
        triggered = conn.execute(
            select(dag_run.c.conf, dag_run.c.state).where(
                dag_run.c.dag_id == "af_target", dag_run.c.run_id == "by_client"
            )
        ).one()
        pools = [r.name for r in conn.execute(select(pool.c.name))]
    assert left == []  # cleared in the store, not only in what the task saw
    assert triggered.conf == {"x": 1}
    assert "af_pool" not in pools

    used = returned(store, reader, "use_client")
    assert used == {
        "made": {
            "dag_id": "af_target",
            "dag_run_id": "by_client",
            "conf": {"x": 1},
            "state": "queued",
            "run_type": "manual",
            "external_trigger": True,
        },
        "created": ["af_pool", 3, "for tests"],
        "pool": ["af_pool", 3, "for tests", False],
        "pools": ["af_pool", "default_pool"],
        "deleted": ["af_pool", 3, "for tests"],
        "gone": True,
        "delete_dag": True,
        "get_lineage": True,
    }
