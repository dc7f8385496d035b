"""Airflow 2's ``dags backfill -s -e`` and Airflow 3's ``backfill create`` run Conveyor's
backfill, on both stores (processes: a backfill runs a scheduler of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor.store.engine import Store
from conveyor.store.reads import runs as run_reads

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

DAILY = """
    from datetime import datetime
    from conveyor import DAG, EmptyOperator

    with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
        EmptyOperator(task_id="work")
"""


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "daily.py").write_text(textwrap.dedent(DAILY))
    return {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": store_url,
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.1",
        "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",
        "COLUMNS": "120",
    }


def conveyor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CONVEYOR, *args], env=env, capture_output=True, text=True, timeout=180)


def _backfill_dates(store: Store) -> list[datetime]:
    with store.read() as conn:
        listed = run_reads.list_runs(conn, dag_id="daily", limit=100, order="logical_date")
    return [r.logical_date for r in listed if r.run_type == "backfill" and r.state == "success"]


def test_both_airflow_spellings_backfill_and_are_audited(env: dict[str, str], store: Store) -> None:
    old = conveyor(env, "dags", "backfill", "daily", "-s", "2024-01-01", "-e", "2024-01-02")
    assert old.returncode == 0, old.stdout + old.stderr
    new = conveyor(
        env, "backfill", "create", "--dag-id", "daily", "--from-date", "2024-01-03",
        "--to-date", "2024-01-04", "--max-active-runs", "2", "--reprocess-behavior", "failed",
    )  # fmt: skip
    assert new.returncode == 0, new.stdout + new.stderr
    assert _backfill_dates(store) == [datetime(2024, 1, d, tzinfo=UTC) for d in range(1, 5)]

    audit = json.loads(
        conveyor(env, "audit", "list", "--action", "dag.backfill", "-o", "json").stdout
    )
    assert sorted(e["dag_id"] for e in audit["entries"]) == ["daily", "daily"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dry-run"], "--dry-run is not supported"),
        (["--run-backwards"], "--run-backwards (runs are made oldest first) is not supported"),
        (["--dag-run-conf", "{}"], "--dag-run-conf"),
    ],
)
def test_backfill_create_refuses_what_conveyor_cannot_do(
    env: dict[str, str], store: Store, extra: list[str], message: str
) -> None:
    args = ["--dag-id", "daily", "--from-date", "2024-01-01", "--to-date", "2024-01-02"]
    result = conveyor(env, "backfill", "create", *args, *extra)
    assert result.returncode == 2 and message in result.stderr
    assert _backfill_dates(store) == []
