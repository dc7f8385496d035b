"""How long `conveyor db import-airflow` takes for a long history (bench/README.md,
"import_airflow.py").

The Airflow 3.3.2 database of tests/fixtures/airflow_dbs is copied and given RUNS more
scheduled runs of ``daily_catchup`` (two task instances each, with Airflow's own columns
filled as its scheduler leaves them), written straight into its SQLite file; a fresh
Conveyor store (SQLite, or PostgreSQL with --pg-url) parses the fixture's DAG file, and the
import is timed: the plan (reading the Airflow database and working out each DAG's first
run), then applying it, in wall time and in this process's CPU time (on a shared machine
the wall time says more about the neighbours). A second import, which finds everything
there, is timed too. With --logs, each synthesized try gets a log file in Airflow's default
layout, and `--logs`'s copy after the first import is timed as well.

    .venv/bin/python bench/import_airflow.py                 # 50,000 runs: 100,000 instances
    .venv/bin/python bench/import_airflow.py --runs 5000
    .venv/bin/python bench/import_airflow.py --runs 5000 --logs
    .venv/bin/python bench/import_airflow.py --pg-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "airflow_dbs"
FACTS = json.loads((FIXTURES / "facts.json").read_text())


def synthesize(path: Path, runs: int) -> int:
    """Add ``runs`` daily runs before the fixture's first; the task instances added."""
    with gzip.open(FIXTURES / "airflow-3.3.2.db.gz") as src, path.open("wb") as out:
        shutil.copyfileobj(src, out)
    db = sqlite3.connect(path)
    version = db.execute("SELECT id FROM dag_version WHERE dag_id = 'daily_catchup'").fetchone()
    first = datetime(2025, 12, 1) - timedelta(days=runs)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    run_rows, ti_rows = [], []
    for n in range(runs):
        start = first + timedelta(days=n)
        end = start + timedelta(days=1)
        run_id = f"scheduled__{start.replace(tzinfo=UTC).isoformat()}"
        begun, done = end + timedelta(seconds=5), end + timedelta(seconds=40)
        run_rows.append(
            (
                "daily_catchup",
                run_id,
                "scheduled",
                "success",
                start.strftime(fmt),
                start.strftime(fmt),
                end.strftime(fmt),
                end.strftime(fmt),
                begun.strftime(fmt),
                done.strftime(fmt),
                end.strftime(fmt),
                "{}",
            )
        )
        for offset, task_id in enumerate(("extract", "load")):
            t0 = begun + timedelta(seconds=10 * offset)
            ti_rows.append(
                (
                    uuid.uuid4().hex, task_id, "daily_catchup", run_id, -1,
                    t0.strftime(fmt), (t0 + timedelta(seconds=4)).strftime(fmt), 4.0,
                    "success", 1, 1, "airflow-worker-1", "default_pool", 1, "default", 1,
                    (t0 - timedelta(seconds=1)).strftime(fmt), version[0],
                )
            )  # fmt: skip
    db.executemany(
        "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,"
        " data_interval_start, data_interval_end, run_after, start_date, end_date, queued_at,"
        " conf, clear_number, span_status, triggered_by, log_template_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'ended', 'TIMETABLE',"
        " (SELECT max(id) FROM log_template))",
        run_rows,
    )
    db.executemany(
        "INSERT INTO task_instance (id, task_id, dag_id, run_id, map_index, start_date,"
        " end_date, duration, state, try_number, max_tries, hostname, pool, pool_slots, queue,"
        " priority_weight, queued_dttm, dag_version_id, span_status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ended')",
        ti_rows,
    )
    db.commit()
    db.close()
    return len(ti_rows)


def write_logs(folder: Path, path: Path) -> int:
    """A log file of each try of ``daily_catchup``, where Airflow's default template puts it."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT run_id, task_id, try_number FROM task_instance WHERE dag_id = 'daily_catchup'"
    ).fetchall()
    db.close()
    for run_id, task_id, try_number in rows:
        made = folder / f"dag_id=daily_catchup/run_id={run_id}/task_id={task_id}"
        made.mkdir(parents=True, exist_ok=True)
        (made / f"attempt={try_number}.log").write_text(f"{task_id} ran\n" * 20)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--pg-url", help="a PostgreSQL database for Conveyor's store (emptied)")
    parser.add_argument("--logs", action="store_true", help="time --logs's copy too")
    args = parser.parse_args()

    from conveyor.airflow_import.apply import apply_plan, plan_import
    from conveyor.airflow_import.logs import copy_logs
    from conveyor.config import load_config
    from conveyor.loading.processor import DagFileProcessor
    from conveyor.store import schema
    from conveyor.store.engine import Store

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        airflow_db = home / "airflow.db"
        made = synthesize(airflow_db, args.runs)
        url = args.pg_url or f"sqlite:///{home / 'conveyor.db'}"
        settings = load_config(
            {"CONVEYOR_HOME": str(home)},
            home=home,
            dags_folder=FIXTURES / "dags",
            database_url=url,
        ).settings
        store = Store(url)
        if args.pg_url:
            schema.reset(store)
        schema.migrate(store)
        DagFileProcessor(store, FIXTURES / "dags", timeout=60, scan_every=1).sync()
        since = datetime(1, 1, 2, tzinfo=UTC)
        for label in ("first import", "second import"):
            started, cpu = time.perf_counter(), time.process_time()
            plan = plan_import(store, f"sqlite:///{airflow_db}", FACTS["fernet_key"], since)
            planned = time.perf_counter()
            apply_plan(store, settings, plan)
            ended, cpu = time.perf_counter(), time.process_time() - cpu
            print(
                f"{label}: {len(plan.runs):,} runs, {plan.task_instances:,} task instances "
                f"(of {made:,} synthesized): plan {planned - started:.1f}s, "
                f"apply {ended - planned:.1f}s, total {ended - started:.1f}s wall, "
                f"{cpu:.1f}s CPU ({store.describe()})",
                flush=True,
            )
            if args.logs and label == "first import":
                files = write_logs(home / "airflow-logs", airflow_db)
                started, cpu = time.perf_counter(), time.process_time()
                copied = copy_logs(store, settings, plan, home / "airflow-logs")
                ended, cpu = time.perf_counter(), time.process_time() - cpu
                print(
                    f"--logs: {copied.copied:,} logs copied of {files:,} files, "
                    f"{copied.not_found:,} tries without one: {ended - started:.1f}s wall, "
                    f"{cpu:.1f}s CPU",
                    flush=True,
                )
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
