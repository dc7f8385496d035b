"""No writer stores what the API would refuse: a run's conf and XCom values are strict JSON
(no NaN, no Infinity, no lone surrogates) and a conf is at most ``max_conf_bytes``, whoever
writes them: the CLI (``conveyor dags trigger``, ``conveyor run``), a task's return value,
``xcom_push``, the ``ti`` handle that ``TriggerDagRunOperator`` uses, and ``conveyor.testing``
(both backends where a store is involved)."""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import pytest
from api_helpers import CONVEYOR, World, run_cli, world_fixture_of
from sqlalchemy import func, select

from conveyor import DAG, task
from conveyor.model.params import ConfRefused
from conveyor.store import runs
from conveyor.store.tables import dag_run, xcom
from conveyor.strict_json import NotStrictJson
from conveyor.testing import run_dag

WRITERS = """
from conveyor import DAG, task

with DAG("target"):
    @task
    def noop():
        return 1

    noop()

with DAG("returns_nan"):
    @task(retries=0)
    def ratio():
        return {"ratio": float("nan")}

    ratio()

with DAG("returns_surrogate"):
    @task(retries=0)
    def text():
        return ["caf\\ud800"]

    text()

with DAG("pushes_surrogate"):
    @task(retries=0)
    def push(ti=None):
        ti.xcom_push("note", {"k": "\\udfff"})
        return 1

    push()

with DAG("triggers_nan"):
    @task(retries=0)
    def kick(ti=None):
        ti.trigger_dag_run("target", run_id="from_kick", conf={"x": float("inf")})

    kick()
"""


world = world_fixture_of({"writers.py": WRITERS})


def _run_count(world: World) -> int:
    with world.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(dag_run)).scalar_one())


@pytest.mark.parametrize(
    ("conf", "reason"),
    [
        ('{"x": NaN}', "conf.x: nan is not a JSON number"),
        ('{"x": [1, -Infinity]}', "conf.x[1]: -inf is not a JSON number"),
        ('{"x": "\\ud800"}', "conf.x: the lone UTF-16 surrogate U+D800 at position 0"),
    ],
)
def test_dags_trigger_refuses_a_conf_that_is_not_strict_json(
    world: World, conf: str, reason: str
) -> None:
    done = run_cli(world, "dags", "trigger", "target", "--conf", conf)
    assert done.exit_code == 1, done.output
    assert f"error: {reason}" in done.output
    assert "strict JSON" in done.output
    assert _run_count(world) == 0
    # The API says the same, for the same conf.
    api = world.client("op").post(
        "/api/v1/dags/target/runs",
        content=f'{{"conf": {conf}}}',
        headers={"Content-Type": "application/json"},
    )
    assert api.status_code == 422, api.text
    assert reason.split(": ", 1)[1].split(" at ")[0] in api.text


def test_dags_trigger_caps_the_size_of_its_conf_as_the_api_does(world: World) -> None:
    big = '{"x": "' + "a" * (64 << 10) + '"}'
    done = run_cli(world, "dags", "trigger", "target", "--conf", big)
    assert done.exit_code == 1, done.output
    assert "at most 65536 (max_conf_bytes)" in done.output
    small = run_cli(
        world,
        "dags",
        "trigger",
        "target",
        "--conf",
        '{"x": "' + "a" * 50 + '"}',
        CONVEYOR_MAX_CONF_BYTES="40",
    )
    assert small.exit_code == 1, small.output
    assert "conf: 58 bytes of JSON; at most 40 (max_conf_bytes)" in small.output
    assert _run_count(world) == 0


def test_the_store_itself_refuses_a_conf_that_is_not_strict_json(world: World) -> None:
    refused = pytest.raises(NotStrictJson, match=r"conf\.x: nan is not a JSON number")
    with refused, world.store.write() as conn:
        runs.create_manual_run(conn, "target", conf={"x": math.nan}, created_by="test")
    assert _run_count(world) == 0


def test_tasks_cannot_store_nan_or_lone_surrogates(world: World) -> None:
    pks = [world.trigger(d) for d in ("returns_nan", "returns_surrogate", "pushes_surrogate")]
    pks.append(world.trigger("triggers_nan"))
    world.run(*pks)
    viewer = world.client("viewer")
    expected = {
        ("returns_nan", "ratio"): "the return value of task 'ratio' is not strict JSON: "
        "ratio: nan is not a JSON number",
        ("returns_surrogate", "text"): "the return value of task 'text' is not strict JSON: "
        "[0]: the lone UTF-16 surrogate U+D800 at position 3",
        ("pushes_surrogate", "push"): "XCom 'note' of task 'push' is not strict JSON: "
        "k: the lone UTF-16 surrogate U+DFFF at position 0",
        ("triggers_nan", "kick"): "conf.x: inf is not a JSON number",
    }
    for pk, ((dag_id, task_id), reason) in zip(pks, expected.items(), strict=True):
        run_id = world.run_id(pk)
        answer = viewer.get(f"/api/v1/dags/{dag_id}/runs/{run_id}/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "failed"
        assert reason in answer.json()["tries"][-1]["error"]
        xcoms = viewer.get(f"/api/v1/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/xcom")
        assert xcoms.status_code == 200, xcoms.text
        assert xcoms.json()["xcom"] == []
    with world.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(xcom)).scalar_one() == 0
        targets = conn.execute(select(func.count()).where(dag_run.c.dag_id == "target"))
        assert targets.scalar_one() == 0
    assert viewer.get("/api/v1/runs").status_code == 200


def test_conveyor_run_refuses_a_conf_that_is_not_strict_json(tmp_path: Path) -> None:
    dag_file = tmp_path / "target.py"
    dag_file.write_text(WRITERS)
    environ = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [CONVEYOR, "run", str(dag_file), "target", "--conf", '{"x": NaN}'],
        env=environ,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error: conf.x: nan is not a JSON number" in done.stderr


def test_conveyor_testing_refuses_what_the_api_refuses() -> None:
    with DAG("tested") as dag:

        @task(retries=0)
        def ratio() -> float:
            return math.nan

        ratio()

    with pytest.raises(ConfRefused, match=r"conf\.x: nan is not a JSON number"):
        run_dag(dag, conf={"x": math.nan})
    result = run_dag(dag)
    assert not result.succeeded
    error = result.tasks["ratio"].error or ""
    assert "is not strict JSON: value: nan is not a JSON number" in error
