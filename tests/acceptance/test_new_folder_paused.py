"""A folder of DAGs copied into a running ``conveyor standalone`` starts nothing, as on
Airflow (``dags_are_paused_at_creation`` is true by default): no run is made, not even the
missed runs of an hourly ``catchup=True`` DAG whose start date is in the past, until a person
unpauses it; then it runs."""

from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_processes import cli_env, cli_process, run_cli
from conftest import PAUSED_AT_CREATION_VAR

HOURLY = """
from datetime import datetime
from conveyor import DAG, task

with DAG("team_hourly", schedule="@hourly", start_date=datetime.fromisoformat("{start}"),
         catchup=True, tags=["team"]):
    @task
    def count():
        return 1
    count()
"""

ONCE = """
from datetime import datetime
from conveyor import DAG, task

with DAG("team_once", schedule="@once", start_date=datetime(2024, 1, 1), tags=["team"]):
    @task
    def hello():
        return "hi"
    hello()
"""


def _read(env: dict[str, str], query: str) -> list[tuple[str, object]]:
    """Rows of the standalone's SQLite store, read-only (never created here)."""
    database = Path(env["CONVEYOR_HOME"]) / "conveyor.db"
    # closing: a connection's own `with` ends its transaction, not the connection.
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return [(str(a), b) for a, b in conn.execute(query)]


def _paused(env: dict[str, str]) -> dict[str, bool]:
    return {d: bool(p) for d, p in _read(env, "SELECT dag_id, is_paused FROM dag")}


def _runs(env: dict[str, str], dag_id: str) -> list[str]:
    return [str(s) for d, s in _read(env, "SELECT dag_id, state FROM dag_run") if d == dag_id]


def test_a_copied_folder_starts_nothing_until_unpaused(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    env.pop(PAUSED_AT_CREATION_VAR)  # the product's default
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    team = tmp_path / "team"
    team.mkdir()
    (team / "hourly.py").write_text(HOURLY.format(start=start.replace(tzinfo=None).isoformat()))
    (team / "once.py").write_text(ONCE)

    with cli_process(["standalone", "--port", "0"], env) as process:
        process.wait_for_line(r"web UI", timeout=60)
        shutil.copytree(team, Path(env["CONVEYOR_DAGS_FOLDER"]) / "team")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dags = _paused(env)
            if {"team_hourly", "team_once"} <= set(dags):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the copied DAGs did not show up")
        assert dags["team_hourly"] and dags["team_once"]
        time.sleep(3)  # some fifteen scheduler loops (0.2 s): nothing may be made
        assert _runs(env, "team_hourly") == [] and _runs(env, "team_once") == []

        done = run_cli(env, "dags", "unpause", "--tag", "team", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "team_hourly is unpaused" in done.stdout and "team_once is unpaused" in done.stdout
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            hourly, once = _runs(env, "team_hourly"), _runs(env, "team_once")
            if len(hourly) >= 3 and once == ["success"]:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"unpaused, the DAGs did not run: {hourly} {once}")
        process.seconds_to_end(process.ctrl_c(), limit=20)
    assert "paused until unpaused" in process.output
