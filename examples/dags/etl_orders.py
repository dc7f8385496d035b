"""ETL with the TaskFlow API: orders from a CSV file into a SQLite table, then a summary.

Read it top to bottom: each ``@task`` function is one task, and calling one with another's
result both passes the data (through XCom) and draws the dependency, so the last line builds
``extract >> transform >> load >> report``. Nothing heavy happens at import time: the
scheduler imports this file often, and only the task bodies do work.

The database goes to ``$CONVEYOR_EXAMPLE_OUTPUT`` if set, else to
``$CONVEYOR_HOME/example-output/orders.db``. Look inside with
``sqlite3 ~/.conveyor/example-output/orders.db "select * from orders"``.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from conveyor import dag, task

# The CSV ships beside this file. Build paths at import time, read files only inside tasks.
DATA_FILE = Path(__file__).parent / "data" / "orders.csv"


def output_path() -> Path:
    configured = os.environ.get("CONVEYOR_EXAMPLE_OUTPUT")
    if configured:
        return Path(configured)
    home = Path(os.environ.get("CONVEYOR_HOME") or "~/.conveyor").expanduser()
    return home / "example-output" / "orders.db"


def _typed_rows(raw: list[dict[str, str]]) -> Iterator[dict[str, Any] | None]:
    """Each CSV row as typed, JSON-ready values; None for a row whose amount is unusable."""
    for row in raw:
        try:
            amount = round(float(row["amount"]), 2)
        except ValueError:
            yield None
            continue
        yield {
            "order_id": int(row["order_id"]),
            "customer": row["customer"].strip(),
            "country": row["country"].strip().upper(),
            "amount": amount,
            # XCom values are JSON, so datetimes travel as ISO 8601 strings.
            "ordered_at": datetime.fromisoformat(row["ordered_at"]).isoformat(),
        }


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,  # when first switched on, run the latest day only, not every day since
    tags=["example", "etl"],
    description="Load the orders CSV into SQLite and report totals per country",
)
def etl_orders() -> None:
    @task
    def extract() -> list[dict[str, str]]:
        with DATA_FILE.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))  # the return value becomes this task's XCom

    @task
    def transform(raw: list[dict[str, str]], ti: Any) -> list[dict[str, Any]]:
        # ``ti`` (like ``ds``, ``params`` ...) is filled from the task context because the
        # function asks for it by name.
        typed = list(_typed_rows(raw))
        rows = [row for row in typed if row is not None]
        dropped = len(typed) - len(rows)
        print(f"kept {len(rows)} orders, dropped {dropped} without a usable amount")
        # An explicit XCom under a key of our own, besides the return value; ``report``
        # pulls it below.
        ti.xcom_push(key="dropped", value=dropped)
        return rows

    # The database may be busy or on a flaky disk: try up to 3 times, waiting 5 s, then 10 s.
    @task(retries=2, retry_delay=timedelta(seconds=5), retry_exponential_backoff=True)
    def load(rows: list[dict[str, Any]], ds: str) -> int:
        path = output_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # closing() closes the file at the end; ``db`` as a context manager makes the block
        # one transaction, committed at the end or rolled back on an error.
        with closing(sqlite3.connect(path, timeout=30)) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS orders (ds TEXT, order_id INTEGER, customer TEXT,"
                " country TEXT, amount REAL, ordered_at TEXT, PRIMARY KEY (ds, order_id))"
            )
            # Idempotent: a retry or a rerun of the same day replaces that day's rows.
            db.execute("DELETE FROM orders WHERE ds = ?", (ds,))
            db.executemany(
                "INSERT INTO orders VALUES"
                " (:ds, :order_id, :customer, :country, :amount, :ordered_at)",
                [{**row, "ds": ds} for row in rows],
            )
        return len(rows)

    @task
    def report(loaded: int, ds: str, ti: Any) -> dict[str, Any]:
        with closing(sqlite3.connect(output_path())) as db:
            totals = db.execute(
                "SELECT country, ROUND(SUM(amount), 2) FROM orders WHERE ds = ?"
                " GROUP BY country ORDER BY country",
                (ds,),
            ).fetchall()
        # Pull the value ``transform`` pushed by hand, naming its task and key.
        dropped = ti.xcom_pull(task_ids="transform", key="dropped")
        return {"ds": ds, "rows_loaded": loaded, "rows_dropped": dropped, "totals": dict(totals)}

    report(load(transform(extract())))


etl_orders()  # calling the @dag function creates the DAG; the loader finds it
