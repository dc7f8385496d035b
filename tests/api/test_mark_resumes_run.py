"""Marking a failed task success resumes its run, as Airflow 3's ``set_task_instance_state``
does: the task is marked, the failed and upstream_failed tasks below it are cleared, and the
scheduler runs them, so the run ends success. The preview (``dry_run``) lists the tasks that
will run again; ``/api/v2``'s PATCH does the same. Both stores; a few seconds each.
"""

from __future__ import annotations

from typing import Any

from api_helpers import PASSWORDS, World, world_fixture_of
from fastapi.testclient import TestClient

# check fails; load and report below it end upstream_failed; aside succeeds on its own.
RESUMES = """
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("resumes", schedule=None):
    check = BashOperator(task_id="check", bash_command="echo check fails; exit 1")
    load = BashOperator(task_id="load", bash_command="echo loaded")
    report = BashOperator(task_id="report", bash_command="echo reported")
    aside = BashOperator(task_id="aside", bash_command="echo aside")
    check >> load >> report
"""

world = world_fixture_of({"resumes.py": RESUMES})


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _failed_run(world: World) -> tuple[int, str]:
    run_pk = world.trigger("resumes")
    world.run(run_pk)
    return run_pk, world.run_id(run_pk)


def _states(client: TestClient, run_id: str) -> dict[str, tuple[str, int]]:
    found = _ok(client.get(f"/api/v2/dags/resumes/dagRuns/{run_id}/taskInstances"))
    return {t["task_id"]: (t["state"], t["try_number"]) for t in found["task_instances"]}


def test_a_failed_task_marked_success_through_api_v2_resumes_the_run(world: World) -> None:
    run_pk, run_id = _failed_run(world)
    token = world.client().post("/auth/token", json={"username": "op", "password": PASSWORDS["op"]})
    op = world.token_client(token.json()["access_token"])
    before = _states(op, run_id)
    assert before == {
        "check": ("failed", 1),
        "load": ("upstream_failed", 0),
        "report": ("upstream_failed", 0),
        "aside": ("success", 1),
    }
    base = f"/api/v2/dags/resumes/dagRuns/{run_id}/taskInstances/check"
    preview = _ok(op.patch(f"{base}/dry_run", json={"new_state": "success"}))
    assert [t["task_id"] for t in preview["task_instances"]] == ["check"]
    assert _states(op, run_id) == before  # the preview changed nothing
    marked = _ok(op.patch(base, json={"new_state": "success"}))
    assert [(t["task_id"], t["state"]) for t in marked["task_instances"]] == [("check", "success")]
    after_mark = _states(op, run_id)
    assert after_mark["load"][0] is None and after_mark["report"][0] is None
    assert _ok(op.get(f"/api/v2/dags/resumes/dagRuns/{run_id}"))["state"] == "queued"

    world.run(run_pk)
    assert _states(op, run_id) == {
        "check": ("success", 1),  # marked, not run again
        "load": ("success", 1),
        "report": ("success", 1),
        "aside": ("success", 1),  # not below it: left alone
    }
    assert _ok(op.get(f"/api/v2/dags/resumes/dagRuns/{run_id}"))["state"] == "success"


def test_the_marks_preview_lists_the_tasks_that_will_run_again(world: World) -> None:
    _, run_id = _failed_run(world)
    op = world.client("op")
    path = f"/api/v1/dags/resumes/runs/{run_id}/tasks/check/mark"
    preview = _ok(op.post(path, json={"state": "success", "dry_run": True}))
    listed = {(i["task_id"], i["before"], i["after"]) for i in preview["instances"]}
    assert listed == {
        ("check", "failed", "success"),
        ("load", "upstream_failed", "none"),
        ("report", "upstream_failed", "none"),
    }
    assert preview["changed"] == ["check", "load", "report"]
    # Marking it failed again resumes nothing: only it is listed.
    again = _ok(op.post(path, json={"state": "failed", "dry_run": True}))
    assert again["instances"] == []
