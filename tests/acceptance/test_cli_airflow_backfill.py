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

from conveyor.backfill import Backfill
from conveyor.store import backfills
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


def test_backfills_are_listed_paused_unpaused_and_cancelled(
    env: dict[str, str], store: Store
) -> None:
    done = conveyor(env, "backfill", "daily", "--from", "2024-01-01", "--to", "2024-01-02")
    assert done.returncode == 0, done.stdout + done.stderr
    [first] = json.loads(conveyor(env, "backfill", "list", "-o", "json").stdout)["backfills"]
    assert first["runs"] == {"success": 2} and first["completed_at"] is not None
    assert first["max_active_runs"] == 4 and first["triggering_user_name"]
    # A second one, going on (no scheduler runs here): its three runs wait, queued.
    going = Backfill(
        store, "daily", datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)
    ).create()
    for verb, paused in (("pause", True), ("unpause", False)):
        result = conveyor(env, "backfill", verb, str(going))
        assert result.returncode == 0 and f"backfill {going} of daily" in result.stdout
        with store.read() as conn:
            found = backfills.get(conn, going)
        assert found is not None and found.is_paused is paused
    assert conveyor(env, "backfill", "cancel", str(going)).returncode == 0
    listed = json.loads(conveyor(env, "backfill", "list", "--dag-id", "daily", "-o", "json").stdout)
    newest = listed["backfills"][0]
    assert newest["id"] == going and newest["runs"] == {"failed": 3}
    assert newest["completed_at"] is not None and newest["is_paused"] is True
    late = conveyor(env, "backfill", "pause", str(going))
    assert late.returncode == 1 and "already completed" in late.stderr
    assert conveyor(env, "backfill", "cancel", "999").returncode == 1
    audit = json.loads(conveyor(env, "audit", "list", "-o", "json").stdout)["entries"]
    acted = [(e["action"], e["target"]) for e in audit if e["action"].startswith("backfill.")]
    assert acted == [(f"backfill.{v}", str(going)) for v in ("cancel", "unpause", "pause")]
