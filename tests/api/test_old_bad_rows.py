"""A run or XCom row stored before strict JSON (NaN, Infinity, lone surrogates, written
straight into the store here) is shown with its bad parts marked, never a 500: in
``/runs``, a DAG's runs, the run, the XCom endpoint, the UI pages and the CLI (both
backends, with what each can hold: PostgreSQL's ``json`` type refuses NaN itself)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, make_world
from api_helpers import close as close_world
from sqlalchemy import update
from sqlalchemy.exc import DataError

from conveyor.store.tables import dag_run, xcom

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

#: What no writer may store any more; PostgreSQL refuses the NaN and Infinity parts itself.
SURROGATES: dict[str, Any] = {"s": "caf\ud800", "\udc00k": 1, "ok": [1, "x"]}
NUMBERS: dict[str, Any] = {"n": math.nan, "i": [math.inf, -math.inf]}
SURROGATES_SHOWN = {"s": "caf\ufffd", "\ufffdk": 1, "ok": [1, "x"]}
NUMBERS_SHOWN = {"n": "NaN", "i": ["Infinity", "-Infinity"]}


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=("pipeline",))
    yield built
    close_world(built)


def _store_bad_rows(world: World) -> tuple[dict[str, Any], list[Any]]:
    """Write bad parts into the pipeline run's conf and extract's XCom, as an older
    Conveyor could; return what the readers must show instead."""
    bad_conf, shown_conf = dict(SURROGATES), dict(SURROGATES_SHOWN)
    bad_value: list[Any] = ["\udfff"]
    shown_value: list[Any] = ["\ufffd"]
    if world.store.is_sqlite:
        bad_conf.update(NUMBERS)
        shown_conf.update(NUMBERS_SHOWN)
        bad_value.append(math.nan)
        shown_value.append("NaN")
    else:
        refused = pytest.raises(DataError, match="invalid input syntax for type json")
        with refused, world.store.write() as conn:
            conn.execute(update(dag_run).values(conf=NUMBERS))
    with world.store.write() as conn:
        conn.execute(update(dag_run).values(conf=bad_conf))
        conn.execute(update(xcom).where(xcom.c.task_id == "extract").values(value=bad_value))
    return shown_conf, shown_value


def test_api_lists_and_pages_show_old_bad_rows_marked(world: World) -> None:
    shown_conf, shown_value = _store_bad_rows(world)
    run_id = world.run_ids["pipeline"]
    viewer = world.client("viewer")
    for path in ("/api/v1/runs", "/api/v1/dags/pipeline/runs"):
        answer = viewer.get(path)
        assert answer.status_code == 200, answer.text
        assert answer.json()["runs"][0]["conf"] == shown_conf
    run = viewer.get(f"/api/v1/dags/pipeline/runs/{run_id}")
    assert run.status_code == 200, run.text
    assert run.json()["conf"] == shown_conf
    xcoms = viewer.get(f"/api/v1/dags/pipeline/runs/{run_id}/tasks/extract/xcom")
    assert xcoms.status_code == 200, xcoms.text
    assert xcoms.json()["xcom"][0]["value"] == shown_value
    for page in (
        "/dags/pipeline",
        f"/dags/pipeline/runs/{run_id}",
        f"/dags/pipeline/runs/{run_id}/tasks/extract",
        "/",
    ):
        answer = viewer.get(page)
        assert answer.status_code == 200, (page, answer.text)


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(world.tmp / "cli-home"),
        "CONVEYOR_DATABASE_URL": world.store.url,
        "CONVEYOR_DAGS_FOLDER": str(world.settings.dags_path),
    }
    return subprocess.run(
        [CONVEYOR, *args], env=environ, capture_output=True, text=True, timeout=90
    )


def test_the_cli_shows_old_bad_rows_marked(world: World) -> None:
    shown_conf, _ = _store_bad_rows(world)
    run_id = world.run_ids["pipeline"]
    listed = _cli(world, "runs", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["runs"][0]["conf"] == shown_conf
    shown = _cli(world, "runs", "show", "pipeline", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "caf\ufffd" in shown.stdout
    as_json = _cli(world, "runs", "show", "pipeline", run_id, "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["conf"] == shown_conf
