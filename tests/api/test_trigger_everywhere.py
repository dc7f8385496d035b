"""Every way of triggering a run by hand applies the same checks: the API (which the UI's
trigger form posts to), ``conveyor dags trigger`` and ``conveyor run`` refuse the same bad
conf and the same bad run id with the same message, and store nothing (both backends)."""

from __future__ import annotations

from api_helpers import World, run_cli, world_fixture_of

from conveyor.run_ids import RULE

COUNTING_DAG = """
from conveyor import DAG, task

with DAG("counting", params={"n": 1}):
    @task
    def count(params=None):
        return params["n"]

    count()
"""

REFUSED = "conf.n: param 'n' expects integer (like its default 1), got number 1.5"


world = world_fixture_of({"counting.py": COUNTING_DAG})


def _runs(world: World) -> int:
    response = world.client("viewer").get("/api/v1/runs")
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def test_api_and_cli_refuse_the_same_bad_conf_with_the_same_message(world: World) -> None:
    api = world.client("op").post("/api/v1/dags/counting/runs", json={"conf": {"n": 1.5}})
    assert api.status_code == 422, api.text
    assert api.json()["detail"] == REFUSED

    trigger = run_cli(world, "dags", "trigger", "counting", "--conf", '{"n": 1.5}')
    assert trigger.exit_code == 1, trigger.output
    assert f"error: {REFUSED}" in trigger.output

    run = run_cli(world, "run", "counting", "--conf", '{"n": 1.5}')
    assert run.exit_code == 1, run.output
    assert f"error: {REFUSED}" in run.output

    assert _runs(world) == 0


def test_api_and_cli_refuse_the_same_bad_run_id(world: World) -> None:
    api = world.client("op").post("/api/v1/dags/counting/runs", json={"run_id": "a/b"})
    assert api.status_code == 422, api.text
    assert api.json()["detail"] == f"run_id: it contains '/'; {RULE}"

    trigger = run_cli(world, "dags", "trigger", "counting", "--run-id", "a/b")
    assert trigger.exit_code == 1, trigger.output
    assert f"it contains '/'; {RULE}" in trigger.output

    assert _runs(world) == 0


def test_api_and_cli_trigger_a_good_conf_alike(world: World) -> None:
    api = world.client("op").post(
        "/api/v1/dags/counting/runs", json={"conf": {"n": 2}, "run_id": "from-api"}
    )
    assert api.status_code == 201, api.text
    trigger = run_cli(
        world, "dags", "trigger", "counting", "--conf", '{"n": 3}', "--run-id", "from-cli"
    )
    assert trigger.exit_code == 0, trigger.output
    assert "triggered counting run from-cli" in trigger.output

    again = run_cli(world, "dags", "trigger", "counting", "--run-id", "from-api")
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
