"""A DAG whose tasks write lines about a second apart, every way a task writes to its log,
and the check that each line carries the time it was written: shared by the tests of the
local executor, the Celery workers and ``/api/v2``'s structured log lines.

Imported as ``log_times`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

DAG_ID = "log_times"

DAG_FILE = """
import logging
import subprocess
import sys
import time
from datetime import datetime

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator

with DAG("log_times", start_date=datetime(2024, 1, 1), schedule=None, @EXTRA@):
    @task
    def prints():
        print("printed first")
        time.sleep(1.2)
        print("printed second")
        logging.getLogger("etl").info("logged first")
        time.sleep(1.2)
        logging.getLogger("etl").info("logged second")
        print("part one, ", end="", flush=True)
        time.sleep(1.2)
        print("part two")
        print("after the parts")
        # Straight to the descriptors: Python never sees these bytes.
        subprocess.run(["sh", "-c", "echo raw first; sleep 1.2; echo raw second"], check=True)

    BashOperator(
        task_id="bash", bash_command="echo bash first; sleep 1.2; echo bash second"
    )

    prints()
"""

#: Each task's pairs of lines written about 1.2 s apart (the first line of each pair must
#: be stamped before the second by more than half a second).
PAIRS = {
    "prints": [
        ("printed first", "printed second"),
        ("logged first", "logged second"),
        ("part one, part two", "after the parts"),
        ("raw first", "raw second"),
    ],
    "bash": [("bash first", "bash second")],
}


def dag_file(extra: str = "") -> str:
    return DAG_FILE.replace("@EXTRA@", extra)


def assert_pairs_apart(task_id: str, messages: list[dict[str, Any]]) -> None:
    """Each pair's lines are there once each, with times in order and more than 0.5 s apart
    (the task slept 1.2 s between them; no upper bound, which a slow machine could break)."""
    times = {}
    for message in messages:
        if "timestamp" not in message:
            continue
        times.setdefault(message["event"], []).append(message["timestamp"])
    for first, second in PAIRS[task_id]:
        assert len(times.get(first, [])) == 1, (first, messages)
        assert len(times.get(second, [])) == 1, (second, messages)
        start = datetime.fromisoformat(times[first][0])
        end = datetime.fromisoformat(times[second][0])
        assert (end - start).total_seconds() > 0.5, (first, start, second, end)
