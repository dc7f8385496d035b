"""Every way of triggering a run by hand applies the same checks: the API (which the UI's
trigger form posts to), ``conveyor dags trigger`` and ``conveyor run`` refuse the same bad
conf and the same bad run id with the same message, and store nothing (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_helpers import World, make_world
from api_helpers import close as close_world

from conveyor.loading.processor import DagFileProcessor
from conveyor.run_ids import RULE

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

COUNTING_DAG = """
from conveyor import DAG, task

with DAG("counting", params={"n": 1}):
    @task
    def count(params=None):
        return params["n"]

    count()
"""

REFUSED = "conf.n: param 'n' expects integer (like its default 1), got number 1.5"


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    (tmp_path / "dags" / "counting.py").write_text(COUNTING_DAG)
    DagFileProcessor(built.store, tmp_path / "dags", timeout=30, scan_every=1).sync()
    yield built
    close_world(built)


@dataclass
class Result:
    exit_code: int
    output: str  # stdout and stderr


def _cli(world: World, *args: str) -> Result:
    """``conveyor ARGS`` as a user runs it, on the world's store and DAG folder."""
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(world.tmp / "cli-home"),
        "CONVEYOR_DATABASE_URL": world.store.url,
        "CONVEYOR_DAGS_FOLDER": str(world.settings.dags_path),
    }
    done = subprocess.run(
        [CONVEYOR, *args], env=environ, capture_output=True, text=True, timeout=90
    )
    return Result(done.returncode, done.stdout + done.stderr)


def _runs(world: World) -> int:
    response = world.client("viewer").get("/api/v1/runs")
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def test_api_and_cli_refuse_the_same_bad_conf_with_the_same_message(world: World) -> None:
    api = world.client("op").post("/api/v1/dags/counting/runs", json={"conf": {"n": 1.5}})
    assert api.status_code == 422, api.text
    assert api.json()["detail"] == REFUSED

    trigger = _cli(world, "dags", "trigger", "counting", "--conf", '{"n": 1.5}')
    assert trigger.exit_code == 1, trigger.output
    assert f"error: {REFUSED}" in trigger.output

    run = _cli(world, "run", "counting", "--conf", '{"n": 1.5}')
    assert run.exit_code == 1, run.output
    assert f"error: {REFUSED}" in run.output

    assert _runs(world) == 0


def test_api_and_cli_refuse_the_same_bad_run_id(world: World) -> None:
    api = world.client("op").post("/api/v1/dags/counting/runs", json={"run_id": "a/b"})
    assert api.status_code == 422, api.text
    assert api.json()["detail"] == f"run_id: it contains '/'; {RULE}"

    trigger = _cli(world, "dags", "trigger", "counting", "--run-id", "a/b")
    assert trigger.exit_code == 1, trigger.output
    assert f"it contains '/'; {RULE}" in trigger.output

    assert _runs(world) == 0


def test_api_and_cli_trigger_a_good_conf_alike(world: World) -> None:
    api = world.client("op").post(
        "/api/v1/dags/counting/runs", json={"conf": {"n": 2}, "run_id": "from-api"}
    )
    assert api.status_code == 201, api.text
    trigger = _cli(
        world, "dags", "trigger", "counting", "--conf", '{"n": 3}', "--run-id", "from-cli"
    )
    assert trigger.exit_code == 0, trigger.output
    assert "triggered counting run from-cli" in trigger.output

    again = _cli(world, "dags", "trigger", "counting", "--run-id", "from-api")
    assert again.exit_code == 1
    assert "DAG 'counting' already has a run 'from-api'" in again.output
    conflict = world.client("op").post("/api/v1/dags/counting/runs", json={"run_id": "from-cli"})
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == "DAG 'counting' already has a run 'from-cli'"

    confs = {
        r["run_id"]: r["conf"]
        for r in world.client("viewer").get("/api/v1/dags/counting/runs").json()["runs"]
    }
    assert confs == {"from-api": {"n": 2}, "from-cli": {"n": 3}}
