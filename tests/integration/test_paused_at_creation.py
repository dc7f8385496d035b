"""New DAGs are paused at creation (the setting ``dags_are_paused_at_creation``, default
true, as in Airflow); a DAG's own ``is_paused_upon_creation`` wins; only the first
registration decides. Files are parsed again every ``min_file_process_interval`` even when
unchanged, so an import error that depended on a variable clears by itself, and a parse that
finds the same DAG writes nothing. Both stores.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import PAUSED_AT_CREATION_VAR
from conveyor.config import load_config
from conveyor.connections import repository
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import dag_actions
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_file, dag_version, import_error

PLAIN = """
from datetime import datetime
from conveyor import DAG, task

with DAG("{dag_id}", schedule="@hourly", start_date=datetime(2024, 1, 1), catchup=True{extra}):
    @task
    def one():
        return {value}
"""


def write(folder: Path, dag_id: str, *, extra: str = "", value: int = 1) -> Path:
    path = folder / f"{dag_id}.py"
    path.write_text(PLAIN.format(dag_id=dag_id, extra=extra, value=value))
    return path


def paused(store: Store) -> dict[str, bool]:
    with store.read() as conn:
        return {r.dag_id: r.is_paused for r in conn.execute(select(dag.c.dag_id, dag.c.is_paused))}


def test_the_default_pauses_new_dags_and_each_dag_may_say_otherwise(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PAUSED_AT_CREATION_VAR)  # the product's default, not the tests' opt-out
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    folder = tmp_path / "dags"
    folder.mkdir()
    write(folder, "plain")
    write(folder, "eager", extra=", is_paused_upon_creation=False")
    write(folder, "shy", extra=", is_paused_upon_creation=True")
    (folder / "airflow_eager.py").write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "with DAG('airflow_eager', schedule=None, start_date=datetime(2024, 1, 1),\n"
        "         is_paused_upon_creation=False):\n"
        "    EmptyOperator(task_id='noop')\n"
    )
    (folder / "yaml_eager.yaml").write_text(
        "dags:\n  yaml_eager:\n    is_paused_upon_creation: false\n"
        "    tasks:\n      noop: {operator: empty}\n"
    )
    DagFileProcessor(store, folder, timeout=30, scan_every=1).sync()  # settings: the default
    assert paused(store) == {
        "plain": True,
        "eager": False,
        "shy": True,
        "airflow_eager": False,
        "yaml_eager": False,
    }
    with store.read() as conn:  # paused: the scheduler makes no run of it
        due = conn.execute(
            select(dag.c.dag_id).where(dag.c.is_paused.is_(False)).order_by(dag.c.dag_id)
        )
        assert list(due.scalars()) == ["airflow_eager", "eager", "yaml_eager"]

    # The setting off: only a DAG that asks is paused.
    write(folder, "later")
    write(folder, "later_shy", extra=", is_paused_upon_creation=True")
    DagFileProcessor(store, folder, timeout=30, scan_every=1, paused_at_creation=False).sync()
    found = paused(store)
    assert (found["later"], found["later_shy"]) == (False, True)


def test_a_known_dag_keeps_its_pause_state_when_its_file_changes(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    write(folder, "kept")
    write(folder, "flagged", extra=", is_paused_upon_creation=True")

    def parse() -> None:
        DagFileProcessor(store, folder, timeout=30, scan_every=1, paused_at_creation=True).sync()

    parse()
    with store.write() as conn:
        dag_actions.set_paused(conn, "kept", False)
        dag_actions.set_paused(conn, "flagged", False)
    write(folder, "kept", value=2)
    write(folder, "flagged", extra=", is_paused_upon_creation=True", value=2)
    parse()
    assert paused(store) == {"kept": False, "flagged": False}
    with store.read() as conn:  # the change made a new version, the state stayed
        versions = conn.execute(
            select(func.count()).select_from(dag_version).where(dag_version.c.dag_id == "kept")
        ).scalar()
    assert versions == 2


def test_a_throwaway_store_runs_what_it_is_told_whatever_the_dag_says(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    write(folder, "shy", extra=", is_paused_upon_creation=True")
    DagFileProcessor(store, folder, timeout=30, scan_every=1, paused_at_creation=None).sync()
    assert paused(store) == {"shy": False}


VARIABLE_DAG = """
from datetime import datetime
from conveyor import DAG, task
from conveyor.connections import Variable

TABLES = Variable.get("tables").split(",")

with DAG("from_variable", schedule=None, start_date=datetime(2024, 1, 1)):
    for name in TABLES:
        @task(task_id=f"load_{name}")
        def load():
            return 1
        load()
"""


def test_an_import_error_that_needed_a_variable_clears_without_touching_the_file(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", store.url)
    folder = tmp_path / "dags"
    folder.mkdir()
    path = folder / "from_variable.py"
    path.write_text(VARIABLE_DAG)
    stat = path.stat()
    processor = DagFileProcessor(store, folder, timeout=30, scan_every=0.1, reparse_every=0.5)
    processor.sync()
    with store.read() as conn:
        errors = list(conn.execute(select(import_error.c.message)).scalars())
    assert len(errors) == 1 and "tables" in errors[0]

    repository.set_variable(store, load_config().settings, "tables", "orders,customers")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        processor.poll()
        with store.read() as conn:
            left = conn.execute(select(func.count()).select_from(import_error)).scalar()
            tasks = conn.execute(
                select(dag_version.c.serialized).where(dag_version.c.dag_id == "from_variable")
            ).scalar()
        if not left and tasks is not None:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the import error did not clear within the interval")
    processor.stop()
    assert path.stat().st_mtime_ns == stat.st_mtime_ns  # nobody touched the file
    assert sorted(t["task_id"] for t in tasks["tasks"]) == ["load_customers", "load_orders"]


def test_a_parse_that_finds_the_same_dag_writes_nothing_new(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    write(folder, "steady")
    processor = DagFileProcessor(
        store, folder, timeout=30, scan_every=0.05, reparse_every=0.2, paused_at_creation=False
    )
    processor.sync()

    def row() -> tuple[object, ...]:
        with store.read() as conn:
            found = conn.execute(
                select(dag.c.version_hash, dag.c.updated_at, dag.c.next_dagrun_create_after)
            ).one()
            count = conn.execute(select(func.count()).select_from(dag_version)).scalar()
        return (*found, count)

    before = row()
    with store.read() as conn:
        first_parse = conn.execute(select(dag_file.c.parsed_at)).scalar()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until it was parsed again at least once
        processor.poll()
        with store.read() as conn:
            if conn.execute(select(dag_file.c.parsed_at)).scalar() != first_parse:
                break
        time.sleep(0.05)
    else:
        pytest.fail("the unchanged file was not parsed again after min_file_process_interval")
    processor.stop()
    assert row() == before  # same version, no new row, not due again
