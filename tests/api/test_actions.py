"""Changing things through the API: trigger, pause, clear, mark; the scheduler then acts.

Each test has its own store (SQLite and PostgreSQL) and runs a real scheduler afterwards,
so what is asserted is what the change really caused.
"""

from __future__ import annotations

import re
from typing import Any

from api_helpers import World, fresh_fixture, world_fixture  # noqa: F401  (fixtures)
from sqlalchemy import update

from conveyor.store.tables import task_instance


def _summary(answer: dict[str, Any]) -> dict[str, Any]:
    """An action's answer without its list of instances (test_exact_actions.py reads those)."""
    return {k: answer[k] for k in ("changed", "stopped", "run_state")}


def _task(client: object, world: World, dag_id: str, run_id: str, task_id: str) -> dict:
    response = client.get(f"/api/v1/dags/{dag_id}/runs/{run_id}/tasks/{task_id}")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_op_triggers_a_run_with_conf_and_it_runs(fresh: World) -> None:
    client = fresh.client("op")
    response = client.post("/api/v1/dags/pipeline/runs", json={"conf": {"n": 7, "ratio": 2}})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["state"] == "queued" and run["conf"] == {"n": 7, "ratio": 2}
    assert run["created_by"] == "user:op" and run["run_type"] == "manual"
    assert run["task_states"] == {"none": 3}
    listed = client.get("/api/v1/dags/pipeline/runs").json()
    assert [r["run_id"] for r in listed["runs"]] == [run["run_id"]]
    with fresh.store.read() as conn:
        from conveyor.store.runs import find_run

        pk = find_run(conn, "pipeline", run["run_id"]).id
    fresh.run(pk)
    done = client.get(f"/api/v1/dags/pipeline/runs/{run['run_id']}").json()
    assert done["state"] == "success"
    log = client.get(
        f"/api/v1/dags/pipeline/runs/{run['run_id']}/tasks/talk/tries/1/log", params={"tail": 3}
    ).json()
    assert "n=7\n" in log["text"]  # the conf reached the task
    # exactly the last three lines, each stamped with the time it was written
    assert re.match(r"\[[^\]]+\] line 300\n", log["text"]), log["text"]
    assert log["text"].count("\n") == 3


def test_trigger_with_run_id_and_logical_date(fresh: World) -> None:
    client = fresh.client("admin")
    body = {"run_id": "backfill-2024-01-01", "logical_date": "2024-01-01T00:00:00Z"}
    response = client.post("/api/v1/dags/pipeline/runs", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["run_id"] == "backfill-2024-01-01"
    assert response.json()["logical_date"].startswith("2024-01-01T00:00:00")
    again = client.post("/api/v1/dags/pipeline/runs", json=body)
    assert again.status_code == 409
    assert "backfill-2024-01-01" in again.json()["detail"]


def test_pausing_holds_new_runs_and_says_why(fresh: World) -> None:
    client = fresh.client("op")
    paused = client.patch("/api/v1/dags/pipeline", json={"is_paused": True})
    assert paused.status_code == 200 and paused.json()["is_paused"] is True
    run_id = client.post("/api/v1/dags/pipeline/runs", json={}).json()["run_id"]
    extract = _task(client, fresh, "pipeline", run_id, "extract")
    assert extract["state"] == "none"
    assert any("paused" in reason for reason in extract["waiting_for"])
    listed = {d["dag_id"]: d for d in client.get("/api/v1/dags").json()["dags"]}
    assert listed["pipeline"]["is_paused"] is True
    assert (
        client.patch("/api/v1/dags/pipeline", json={"is_paused": False}).json()["is_paused"]
        is False
    )


def test_clearing_a_failed_task_of_a_finished_run_runs_it_again(fresh: World) -> None:
    client = fresh.client("op")
    run_id = fresh.run_ids["failing"]
    (fresh.tmp / "fixed").write_text("")  # the cause of the failure is gone
    response = client.post(
        f"/api/v1/dags/failing/runs/{run_id}/tasks/explode/clear",
        json={"downstream": True, "only_failed": True},
    )
    assert response.status_code == 200, response.text
    assert _summary(response.json()) == {
        "changed": ["explode", "after"],
        "stopped": [],
        "run_state": "queued",
    }
    cleared = _task(client, fresh, "failing", run_id, "explode")
    assert cleared["state"] == "none"
    assert any(
        e["kind"] == "cleared" and e["actor"] == "user:op"
        for t in cleared["tries"]
        for e in t["events"]
    )
    with fresh.store.read() as conn:
        from conveyor.store.runs import find_run

        pk = find_run(conn, "failing", run_id).id
    fresh.run(pk)
    run = client.get(f"/api/v1/dags/failing/runs/{run_id}").json()
    assert run["state"] == "success"
    assert run["task_states"] == {"success": 2}
    explode = _task(client, fresh, "failing", run_id, "explode")
    assert [t["state"] for t in explode["tries"]] == ["failed", "success"]
    xcom = client.get(f"/api/v1/dags/failing/runs/{run_id}/tasks/explode/xcom").json()
    assert xcom["xcom"][0]["value"] == "fixed"


def test_clear_only_failed_leaves_successful_tasks(fresh: World) -> None:
    client = fresh.client("op")
    run_id = fresh.run_ids["failing"]
    response = client.post(
        f"/api/v1/dags/failing/runs/{run_id}/tasks/after/clear", json={"only_failed": True}
    )
    # upstream_failed counts as failed: it is cleared, the failed upstream is not.
    assert response.json()["changed"] == ["after"]
    again = client.post(
        f"/api/v1/dags/failing/runs/{run_id}/tasks/after/clear", json={"only_failed": True}
    )
    assert again.json()["changed"] == []


def test_mark_success_lets_the_scheduler_finish_the_run(fresh: World) -> None:
    client = fresh.client("op")
    run_id = fresh.run_ids["failing"]
    response = client.post(
        f"/api/v1/dags/failing/runs/{run_id}/tasks/after/mark", json={"state": "success"}
    )
    assert response.status_code == 200, response.text
    assert _summary(response.json()) == {"changed": ["after"], "stopped": [], "run_state": "queued"}
    after = _task(client, fresh, "failing", run_id, "after")
    assert after["state"] == "success"
    with fresh.store.read() as conn:
        from conveyor.store.runs import find_run

        pk = find_run(conn, "failing", run_id).id
    fresh.run(pk)
    assert client.get(f"/api/v1/dags/failing/runs/{run_id}").json()["state"] == "success"
    same = client.post(
        f"/api/v1/dags/failing/runs/{run_id}/tasks/after/mark", json={"state": "success"}
    )
    assert same.json()["changed"] == []


def test_conf_with_an_unknown_param_is_422_naming_it(world: World) -> None:
    response = world.client("op").post(
        "/api/v1/dags/pipeline/runs", json={"conf": {"n": 1, "colour": "red"}}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'colour'" in detail and "params: label, n, ratio" in detail


def test_conf_with_a_wrong_type_is_422_naming_the_param(world: World) -> None:
    client = world.client("op")
    response = client.post("/api/v1/dags/pipeline/runs", json={"conf": {"n": "seven"}})
    assert response.status_code == 422
    assert "conf.n" in response.json()["detail"] and "integer" in response.json()["detail"]
    flag = client.post("/api/v1/dags/pipeline/runs", json={"conf": {"n": True}})
    assert flag.status_code == 422  # a boolean is not a number
    assert client.get("/api/v1/dags/pipeline/runs").json()["total"] == 1  # nothing was made


def test_conf_that_is_not_an_object_is_422(world: World) -> None:
    response = world.client("op").post("/api/v1/dags/pipeline/runs", json={"conf": [1, 2]})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("conf:")


def test_naive_logical_date_is_422(world: World) -> None:
    response = world.client("op").post(
        "/api/v1/dags/pipeline/runs", json={"logical_date": "2024-01-01T00:00:00"}
    )
    assert response.status_code == 422
    assert "time zone" in response.json()["detail"]


def test_clear_upstream_also_clears_what_the_task_depends_on(fresh: World) -> None:
    client = fresh.client("op")
    run_id = fresh.run_ids["failing"]
    response = client.post(
        f"/api/v1/dags/failing/runs/{run_id}/tasks/after/clear", json={"upstream": True}
    )
    assert response.status_code == 200, response.text
    assert _summary(response.json()) == {
        "changed": ["explode", "after"],
        "stopped": [],
        "run_state": "queued",
    }
    assert _task(client, fresh, "failing", run_id, "explode")["state"] == "none"


def test_a_whole_runs_mark_lists_its_tasks_in_the_dags_order(fresh: World) -> None:
    # Both failed, the upstream task with the lower priority: the store's index on a run's
    # instances (state, priority) returns the downstream one first. The answer keeps the
    # DAG's order all the same.
    with fresh.store.write() as conn:
        conn.execute(update(task_instance).values(state="failed"))
        conn.execute(
            update(task_instance)
            .where(task_instance.c.task_id == "explode")
            .values(priority_weight=task_instance.c.priority_weight - 100)
        )
    run = f"/api/v1/dags/failing/runs/{fresh.run_ids['failing']}"
    marked = fresh.client("op").post(f"{run}/mark", json={"state": "success"})
    assert marked.status_code == 200, marked.text
    assert marked.json()["changed"] == ["explode", "after"]


def test_clear_and_mark_a_whole_run(fresh: World) -> None:
    client = fresh.client("op")
    run_id = fresh.run_ids["failing"]
    run = f"/api/v1/dags/failing/runs/{run_id}"
    marked = client.post(f"{run}/mark", json={"state": "success"})
    assert marked.status_code == 200, marked.text
    assert _summary(marked.json()) == {
        "changed": ["explode", "after"],
        "stopped": [],
        "run_state": "success",
    }
    assert _task(client, fresh, "failing", run_id, "after")["state"] == "success"

    cleared = client.post(f"{run}/clear", json={"only_failed": True})
    assert cleared.json()["changed"] == []  # nothing failed any more
    cleared = client.post(f"{run}/clear", json={})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["changed"] == ["explode", "after"]
    assert _task(client, fresh, "failing", run_id, "explode")["state"] == "none"
    assert client.post(f"{run}/mark", json={"state": "running"}).status_code == 422
    assert client.post("/api/v1/dags/failing/runs/nope/clear", json={}).status_code == 404
