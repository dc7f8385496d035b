"""An Airflow user's DAG folder (tests/fixtures/airflow_folder) runs unchanged.

The folder holds three pipelines in three Airflow styles (1.10 with ``*_operator`` modules
and ``default_args``, 2.x TaskFlow, 3.x ``airflow.sdk``) and a helper package beside them.
It is parsed by the real DAG file processor and run by a real scheduler with the local
executor, on SQLite and on PostgreSQL; the tests read back task states, XComs and logs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_settings, run_until_finished
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, import_error, xcom
from conveyor.worker.runner import log_path_for
from store_reads import states_of

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "airflow_folder"
#: Today, after legacy_orders' start_date (days_ago(2)): a run dated before a DAG's start date
#: runs no task, as in Airflow.
WHEN = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
DAY = f"{WHEN:%Y-%m-%d}"
DAGS = ("legacy_orders", "taskflow_inventory", "sdk_shipping")


def _run_folder(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, dict[str, int]]:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    settings = make_settings(tmp_path, FOLDER, store_url)
    DagFileProcessor(store, FOLDER, timeout=20, scan_every=60).sync()
    with store.read() as conn:
        errors = [(e.fileloc, e.message) for e in conn.execute(select(import_error))]
        assert errors == []
        assert set(conn.execute(select(dag.c.dag_id)).scalars()) == set(DAGS)
    created = {}
    with store.write() as conn:
        for dag_id in DAGS:
            run_pk = runs.create_manual_run(conn, dag_id, logical_date=WHEN, created_by="test")
            assert run_pk is not None
            created[dag_id] = run_pk
    run_until_finished(settings, store, list(created.values()), limit=90)
    return settings, created


def _xcoms(store: Store, run_pk: int) -> dict[tuple[str, str], Any]:
    with store.read() as conn:
        rows = conn.execute(select(xcom).where(xcom.c.run_pk == run_pk))
        return {(r.task_id, r.key): r.value for r in rows}


def _log(settings: Settings, store: Store, run_pk: int, task_id: str) -> str:
    with store.read() as conn:
        run = conn.execute(select(dag_run).where(dag_run.c.id == run_pk)).one()
    return log_path_for(settings, run.dag_id, run.run_id, task_id, 1).read_text()


def test_the_airflow_folder_runs_unchanged(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, created = _run_folder(tmp_path, store_url, store, monkeypatch)

    # 1.10 style: default_args carry start_date (days_ago) and Airflow-only keywords.
    legacy = created["legacy_orders"]
    assert states_of(store, legacy) == dict.fromkeys(
        ["start", "extract", "summarise", "report"], "success"
    )
    assert _xcoms(store, legacy)[("summarise", "total")] == 10
    assert f"total=10 day={DAY}" in _log(settings, store, legacy, "report")
    assert f"INFO - parsed 3 order lines for {DAY}" in _log(settings, store, legacy, "extract")
    with store.read() as conn:  # start_date only in default_args: the DAG is scheduled
        scheduled = conn.execute(
            select(dag_run.c.run_id).where(
                dag_run.c.dag_id == "legacy_orders", dag_run.c.run_type == "scheduled"
            )
        ).all()
    assert scheduled, "a DAG whose start_date is in default_args must get scheduled runs"

    # 2.x TaskFlow: multiple_outputs, result["key"] without it, XComArg in bash_command.
    inventory = created["taskflow_inventory"]
    assert states_of(store, inventory) == {
        "stock": "success",
        "threshold": "success",
        "compare": "success",
        "restock": "skipped",
        "notify.announce": "success",
        "notify.echo_count": "success",
        "done": "success",
    }
    values = _xcoms(store, inventory)
    assert values[("stock", "largest")] == 5 and values[("stock", "count")] == 3
    assert values[("compare", "return_value")] is True
    assert "verdict True" in _log(settings, store, inventory, "notify.announce")
    assert "3 lines" in _log(settings, store, inventory, "notify.echo_count")
    assert "INFO - comparing 5 against 4" in _log(settings, store, inventory, "compare")

    # 3.x: airflow.sdk and the standard provider; .output and do_xcom_push=False.
    shipping = created["sdk_shipping"]
    assert set(states_of(store, shipping).values()) == {"success"}
    shipping_values = _xcoms(store, shipping)
    assert shipping_values[("carriers", "return_value")] == ["post", "courier"]
    assert ("quiet", "return_value") not in shipping_values
    assert "label-post" in _log(settings, store, shipping, "show")
