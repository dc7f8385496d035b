"""A small ETL the browser tests trigger from the form: params, a fan-out, a join."""

import time
from datetime import datetime
from typing import Any

from conveyor import DAG, BashOperator, task

with DAG(
    "shop_orders",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    description="Load the day's orders, check them, publish a report",
    tags=["shop", "etl"],
    params={"rows": 3, "region": "eu-west", "dry_run": False},
):

    @task(retries=1)
    def extract(params: dict[str, Any]) -> list[int]:
        time.sleep(0.3)
        return list(range(params["rows"]))

    @task
    def clean(rows: list[int]) -> list[int]:
        return [r for r in rows if r >= 0]

    @task
    def validate(rows: list[int]) -> int:
        if len(rows) > 100:
            raise ValueError(f"{len(rows)} rows is over this shop's limit of 100")
        print(f"validated {len(rows)} rows")
        return len(rows)

    @task
    def load(rows: list[int], count: int) -> int:
        time.sleep(0.3)
        return count

    report = BashOperator(
        task_id="publish_report", bash_command='echo "report for {{ params.region }}: {{ ds }}"'
    )
    rows = extract()
    load(clean(rows), validate(rows)) >> report
