"""The example DAGs in ``examples/dags`` parse cleanly and run green, for real.

They are the first thing a new user sees (``conveyor standalone`` runs them), so a broken
example is a broken first impression. Once per module, the examples folder is parsed by the
DAG file processor, manual runs are created for every example, and a real scheduler with the
local executor drives them to the end on a SQLite store under a temporary ``CONVEYOR_HOME``.
The tests then read what the runs left behind: task states, XCom values, logs and the ETL's
SQLite output.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_settings, run_scheduler
from conveyor.config import Settings
from conveyor.loading.importer import import_dag_file, module_name_for
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import pools, runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, import_error, task_instance, task_try, xcom
from conveyor.worker.runner import log_path_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"
CSV_FILE = EXAMPLES / "data" / "orders.csv"
DS = "2026-03-02"

WEEKDAY_PATH = ("weekday_report", "weekday_publish")
WEEKEND_PATH = ("weekend_report", "weekend_cleanup")

#: DAGs the YAML examples define (examples/dags/yaml/): one template makes three.
YAML_DAGS = {"orders_customers", "orders_invoices", "orders_refunds", "branching_yaml"}

#: The toolkit's examples (examples/dags/toolkit_*.py); toolkit_trigger starts toolkit_triggered.
TOOLKIT_DAGS = {
    "toolkit_connections",
    "toolkit_alerts",
    "toolkit_sensors",
    "toolkit_trigger",
    "toolkit_triggered",
    "toolkit_daily",
}

#: Dynamic task mapping and datasets (examples/dags/mapping.py, datasets.py); datasets_report
#: runs when datasets_export has updated both its datasets.
MAPPING_DATASET_DAGS = {"mapping", "datasets_export", "datasets_report"}

#: Task groups and pools (examples/dags/groups_and_pools.py); its docstring has the user make
#: the pool "warehouse" first, as _create_runs does.
GROUPS_POOLS_DAGS = {"groups_and_pools"}

#: name -> (dag_id, logical date, conf). Two ETL runs share one ds to show the load is idempotent.
RUNS: dict[str, tuple[str, datetime, dict[str, Any]]] = {
    "hello": ("hello_bash", datetime(2026, 3, 2, 9, tzinfo=UTC), {}),
    "etl": ("etl_orders", datetime(2026, 3, 2, tzinfo=UTC), {}),
    "etl_again": ("etl_orders", datetime(2026, 3, 2, 12, tzinfo=UTC), {}),
    "wednesday": ("branching", datetime(2026, 3, 4, 10, tzinfo=UTC), {}),
    "saturday": ("branching", datetime(2026, 3, 7, 10, tzinfo=UTC), {}),
    "forced_weekend": ("branching", datetime(2026, 3, 4, 11, tzinfo=UTC), {"mode": "weekend"}),
    **{
        name: (name, datetime(2026, 3, 2, tzinfo=UTC), {})
        for name in sorted(TOOLKIT_DAGS - {"toolkit_triggered"})
    },
    "mapping": ("mapping", datetime(2026, 3, 2, tzinfo=UTC), {}),
    "datasets_export": ("datasets_export", datetime(2026, 3, 2, tzinfo=UTC), {}),
    "groups_and_pools": ("groups_and_pools", datetime(2026, 3, 2, tzinfo=UTC), {}),
}


@dataclass
class Finished:
    """What the runs left behind, read back from the store once they all ended."""

    settings: Settings
    output: Path
    import_errors: list[Any]
    dag_ids: set[str]
    run_ids: dict[str, str] = field(default_factory=dict)
    run_states: dict[str, str] = field(default_factory=dict)
    task_states: dict[str, dict[str, str]] = field(default_factory=dict)
    xcoms: dict[str, dict[tuple[str, str], Any]] = field(default_factory=dict)
    scheduled_runs: dict[str, str] = field(default_factory=dict)  # "dag_id/run_id" -> state

    def log(self, name: str, task_id: str) -> str:
        dag_id = RUNS[name][0]
        return log_path_for(self.settings, dag_id, self.run_ids[name], task_id, 1).read_text()


def _create_runs(store: Store) -> dict[str, int]:
    created: dict[str, int] = {}
    with store.write() as conn:
        pools.set_pool(conn, "warehouse", 2)  # `conveyor pools set warehouse 2`
        for name, (dag_id, when, conf) in RUNS.items():
            run_pk = runs.create_manual_run(
                conn, dag_id, conf=conf, logical_date=when, created_by="test_examples"
            )
            assert run_pk is not None
            created[name] = run_pk
    return created


def _all_runs_finished(store: Store) -> Callable[[], bool]:
    """Ours and the scheduled runs the scheduler adds, as the examples' start dates are past."""

    def check() -> bool:
        with store.read() as conn:
            found = conn.execute(select(dag_run.c.dag_id, dag_run.c.state)).all()
        states = [row.state for row in found]
        consumer_ran = "datasets_report" in {row.dag_id for row in found}  # made later
        return (
            len(states) >= len(RUNS)
            and consumer_ran
            and all(RunState(s) in RUN_FINISHED for s in states)
        )

    return check


def _read_back(store: Store, created: dict[str, int], found: Finished) -> None:
    with store.read() as conn:
        for name, run_pk in created.items():
            run = conn.execute(select(dag_run).where(dag_run.c.id == run_pk)).one()
            found.run_ids[name] = run.run_id
            found.run_states[name] = run.state
            tis = conn.execute(
                select(task_instance.c.task_id, task_instance.c.state).where(
                    task_instance.c.run_pk == run_pk
                )
            )
            found.task_states[name] = {ti.task_id: ti.state for ti in tis}
            values = conn.execute(
                select(xcom.c.task_id, xcom.c.key, xcom.c.value).where(xcom.c.run_pk == run_pk)
            )
            found.xcoms[name] = {(x.task_id, x.key): x.value for x in values}
        ours = set(created.values())
        for run in conn.execute(select(dag_run)):
            if run.id not in ours:
                found.scheduled_runs[f"{run.dag_id}/{run.run_id}"] = run.state


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finished]:
    tmp = tmp_path_factory.mktemp("examples")
    output = tmp / "out" / "orders.db"
    # Task processes read these, as the ETL example does in a user's installation.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONVEYOR_HOME", str(tmp / "home"))
        env.setenv("CONVEYOR_EXAMPLE_OUTPUT", str(output))
        settings = make_settings(
            tmp,
            EXAMPLES,
            f"sqlite:///{tmp / 'conveyor.db'}",
            scheduler_loop_seconds=0.2,
        )
        store = Store(settings.db_url)
        try:
            schema.migrate(store)
            DagFileProcessor(store, EXAMPLES, timeout=10, scan_every=60).sync()
            with store.read() as conn:
                found = Finished(
                    settings=settings,
                    output=output,
                    import_errors=list(conn.execute(select(import_error)).all()),
                    dag_ids=set(conn.execute(select(dag.c.dag_id)).scalars()),
                )
            if not found.import_errors:
                created = _create_runs(store)
                run_scheduler(
                    settings, store, _all_runs_finished(store), limit=60, what="every run finished"
                )
                _read_back(store, created, found)
            yield found
        finally:
            store.dispose()


def test_every_example_parses_without_import_errors(finished: Finished) -> None:
    assert finished.import_errors == []
    assert finished.dag_ids == {
        "hello_bash",
        "etl_orders",
        "branching",
        *YAML_DAGS,
        *TOOLKIT_DAGS,
        *MAPPING_DATASET_DAGS,
        *GROUPS_POOLS_DAGS,
    }


def test_every_run_and_every_task_that_ran_succeeded(finished: Finished) -> None:
    assert finished.run_states == dict.fromkeys(RUNS, "success")
    # etl_orders and branching have start dates in the past and catchup=False, so the
    # scheduler adds the latest interval of each (two, should the test cross an hour).
    assert {key.split("/")[0] for key in finished.scheduled_runs} == {
        "etl_orders",
        "branching",
        *YAML_DAGS,
        "toolkit_daily",  # scheduled, like the two above
        "toolkit_triggered",  # started by toolkit_trigger
        "datasets_report",  # started by datasets_export's dataset updates
    }
    assert set(finished.scheduled_runs.values()) == {"success"}
    for name in ("hello", "etl", "etl_again"):
        states = set(finished.task_states[name].values())
        assert states == {"success"}, (name, finished.task_states[name])


def test_hello_bash_renders_the_run_id_into_its_command(finished: Finished) -> None:
    assert f"hello from run {finished.run_ids['hello']}" in finished.log("hello", "hello")
    assert finished.xcoms["hello"][("bye", "return_value")] == "bye from bye"


@pytest.mark.parametrize(
    ("name", "taken", "skipped"),
    [
        ("wednesday", WEEKDAY_PATH, WEEKEND_PATH),
        ("saturday", WEEKEND_PATH, WEEKDAY_PATH),
        ("forced_weekend", WEEKEND_PATH, WEEKDAY_PATH),  # conf {"mode": "weekend"} wins
    ],
)
def test_branch_takes_one_path_skips_the_other_and_joins(
    finished: Finished, name: str, taken: tuple[str, ...], skipped: tuple[str, ...]
) -> None:
    states = finished.task_states[name]
    assert finished.xcoms[name][("choose_path", "return_value")] == taken[0]  # as returned
    assert {tid: states[tid] for tid in ("choose_path", *taken, "join")} == dict.fromkeys(
        ("choose_path", *taken, "join"), "success"
    )
    assert {tid: states[tid] for tid in skipped} == dict.fromkeys(skipped, "skipped")


def test_branch_bash_task_renders_ds_and_params(finished: Finished) -> None:
    assert "hello: weekday report for 2026-03-04" in finished.log("wednesday", "weekday_report")
    assert "hello: clearing scratch space of 20260307" in finished.log(
        "saturday", "weekend_cleanup"
    )


def _expected_orders() -> tuple[int, dict[str, float]]:
    """Good rows and totals per country, computed from the CSV independently of the DAG."""
    totals: dict[str, float] = {}
    good = 0
    with CSV_FILE.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["amount"].strip():
                good += 1
                totals[row["country"]] = totals.get(row["country"], 0.0) + float(row["amount"])
    return good, {country: round(total, 2) for country, total in totals.items()}


def test_etl_loads_the_good_rows_once_per_day(finished: Finished) -> None:
    good, _ = _expected_orders()
    with closing(sqlite3.connect(finished.output)) as db:
        rows = db.execute(
            "SELECT ds, order_id, amount, ordered_at FROM orders WHERE ds = ?", (DS,)
        ).fetchall()
        per_day = dict(db.execute("SELECT ds, COUNT(*) FROM orders GROUP BY ds").fetchall())
    # Two runs of the same day: the second replaced the first's rows instead of adding to them.
    assert len(rows) == good == 19
    # Our day and the day(s) of the scheduler's own runs, each loaded once.
    assert DS in per_day
    assert len(per_day) >= 2
    assert set(per_day.values()) == {good}
    assert len({order_id for _, order_id, *_ in rows}) == good
    assert 1011 not in {order_id for _, order_id, *_ in rows}  # the row without an amount
    assert all(isinstance(amount, float) for _, _, amount, _ in rows)
    assert all(at.endswith("+00:00") for *_, at in rows)


@pytest.mark.parametrize("name", ["etl", "etl_again"])
def test_etl_reports_dropped_rows_and_totals_through_xcom(finished: Finished, name: str) -> None:
    good, totals = _expected_orders()
    values = finished.xcoms[name]
    assert values[("transform", "dropped")] == 1  # the explicit ti.xcom_push
    assert values[("report", "return_value")] == {
        "ds": DS,
        "rows_loaded": good,
        "rows_dropped": 1,
        "totals": totals,
    }


def test_etl_output_defaults_to_conveyor_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(EXAMPLES / "etl_orders.py")
    import_dag_file(path)
    module = sys.modules[module_name_for(path)]
    monkeypatch.delenv("CONVEYOR_EXAMPLE_OUTPUT", raising=False)
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path))
    assert module.output_path() == tmp_path / "example-output" / "orders.db"
    monkeypatch.setenv("CONVEYOR_EXAMPLE_OUTPUT", str(tmp_path / "elsewhere.db"))
    assert module.output_path() == tmp_path / "elsewhere.db"


def test_the_mapping_example_expands_and_collects_in_order(finished: Finished) -> None:
    assert finished.xcoms["mapping"][("summarize", "return_value")] == "3 files, 340 lines"
    assert finished.task_states["mapping"]["count_lines"] == "success"
    settings = finished.settings
    run_id = finished.run_ids["mapping"]
    for index in range(2):
        log = log_path_for(settings, "mapping", run_id, "ping_region", 1, index).read_text()
        assert f"is instance {index}" in log


def test_the_datasets_example_runs_its_report_after_both_exports(finished: Finished) -> None:
    assert finished.run_states["datasets_export"] == "success"
    reports = [k for k in finished.scheduled_runs if k.startswith("datasets_report/")]
    assert len(reports) == 1 and reports[0].startswith("datasets_report/dataset_triggered__")
    assert finished.scheduled_runs[reports[0]] == "success"


def test_groups_and_pools_example_runs_its_loads_two_at_a_time(finished: Finished) -> None:
    states = finished.task_states["groups_and_pools"]
    assert set(states.values()) == {"success"}
    assert {"extract.pull_orders", "load.load_orders", "report.checks.freshness"} <= set(states)
    assert finished.xcoms["groups_and_pools"][("load.load_orders", "return_value")] == (
        "loaded orders"
    )
    store = Store(finished.settings.db_url)
    try:
        with store.read() as conn:
            ran = conn.execute(
                select(
                    task_instance.c.task_id,
                    task_instance.c.queued_at,
                    task_try.c.start_date,
                    task_try.c.end_date,
                )
                .join(task_try, task_try.c.ti_id == task_instance.c.id)
                .where(
                    task_instance.c.run_pk == _run_pk(conn, finished.run_ids["groups_and_pools"]),
                    task_instance.c.pool == "warehouse",
                )
                .order_by(task_try.c.start_date)
            ).all()
    finally:
        store.dispose()
    loads = {r.task_id.removeprefix("load.load_"): r for r in ran if r.task_id.startswith("load.")}
    rebuild = loads.pop("load.rebuild_indexes")
    # Two slots, the heaviest tables first: invoices (priority 1) was queued once a slot was
    # free. By queue time: a try queued at once may start late on a busy machine.
    heaviest = min(loads["orders"].end_date, loads["customers"].end_date)
    assert loads["invoices"].queued_at >= heaviest, loads
    assert all(r.end_date <= rebuild.start_date for r in loads.values())


def _run_pk(conn: Any, run_id: str) -> int:
    return int(
        conn.execute(
            select(dag_run.c.id).where(
                dag_run.c.dag_id == "groups_and_pools", dag_run.c.run_id == run_id
            )
        ).scalar_one()
    )
