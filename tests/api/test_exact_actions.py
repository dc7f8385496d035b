"""Clears and marks act on exactly what was chosen, on both stores (issue 54):

- one instance of a mapped task is cleared or marked alone; past/future reach the same
  instance in other runs, upstream/downstream the tasks around it;
- the preview (``dry_run``) lists exactly what confirming changes, and writes nothing;
- a failed run marked success moves "failed -> success" keeping its start and end, with no
  try queued;
- the audit log records each clear or mark once per run, naming the run and its task(s),
  and no preview.
"""

from __future__ import annotations

from typing import Any

from api_helpers import World, world_fixture_of
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.store.tables import dag_run, task_instance

FAN = """
from conveyor import DAG, task

with DAG("fan"):
    @task
    def each(x):
        if x == 1:
            raise ValueError("one is bad")
        return x

    @task
    def total(xs):
        return len(xs)

    total(each.expand(x=[0, 1, 2]))
"""

world = world_fixture_of({"fan.py": FAN})

Key = tuple[str, str, int]  # run id, task id, map index


def _runs(world: World, n: int) -> list[str]:
    """``n`` runs of ``fan``, executed one after the other (their logical dates in order)."""
    found = []
    for _ in range(n):
        pk = world.trigger("fan")
        world.run(pk)
        found.append(world.run_id(pk))
    return found


def _states(world: World) -> dict[Key, str]:
    with world.store.read() as conn:
        rows = conn.execute(
            select(
                dag_run.c.run_id,
                task_instance.c.task_id,
                task_instance.c.map_index,
                task_instance.c.state,
                task_instance.c.try_number,
            ).join(dag_run, dag_run.c.id == task_instance.c.run_pk)
        )
        return {(r.run_id, r.task_id, r.map_index): r.state for r in rows}


def _changed(result: dict[str, Any]) -> dict[Key, tuple[str, str]]:
    return {
        (c["run_id"], c["task_id"], c["map_index"]): (c["before"], c["after"])
        for c in result["changed"]
    }


def _post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _preview_then_do(
    world: World, client: TestClient, path: str, body: dict[str, Any]
) -> dict[Key, tuple[str, str]]:
    """Preview, check nothing was written, confirm, and check exactly the previewed
    instances changed, as the preview said."""
    before = _states(world)
    preview = _changed(_post(client, path, {**body, "dry_run": True}))
    assert _states(world) == before, "the preview wrote"
    done = _changed(_post(client, path, body))
    assert done == preview
    after = _states(world)
    moved = {k: (before[k], after[k]) for k in after if before.get(k) != after[k]}
    assert moved == preview, "what changed is not what the preview listed"
    return preview


def test_clearing_one_mapped_instance_leaves_the_others(world: World) -> None:
    (run,) = _runs(world, 1)
    client = world.client("op")
    ref = {"dag_id": "fan", "run_id": run, "task_id": "each", "map_index": 1}
    assert _states(world)[(run, "each", 1)] == "failed"
    changed = _preview_then_do(world, client, "task-instances/clear", {"task_instances": [ref]})
    assert changed == {(run, "each", 1): ("failed", "none")}
    states = _states(world)
    assert states[(run, "each", 0)] == "success" and states[(run, "each", 2)] == "success"
    # Without a map index the task is chosen whole: every instance of it.
    whole = {
        k
        for k in _changed(
            _post(
                client,
                "task-instances/clear",
                {"task_instances": [{**ref, "map_index": None}], "dry_run": True},
            )
        )
    }
    assert whole == {(run, "each", 0), (run, "each", 2)}  # [1] is already cleared


def test_clear_one_instance_with_downstream_and_past(world: World) -> None:
    first, second = _runs(world, 2)
    client = world.client("op")
    ref = {"dag_id": "fan", "run_id": second, "task_id": "each", "map_index": 1}
    preview = _changed(
        _post(
            client,
            "task-instances/clear",
            {"task_instances": [ref], "downstream": True, "past": True, "dry_run": True},
        )
    )
    assert set(preview) == {
        (run, task, index)
        for run in (first, second)
        for task, index in (("each", 1), ("total", -1))
    }
    only_failed = _changed(
        _post(
            client,
            "task-instances/clear",
            {"task_instances": [{**ref, "map_index": 0}], "only_failed": True, "dry_run": True},
        )
    )
    assert only_failed == {}  # instance 0 succeeded
    only_running = _post(
        client,
        "task-instances/clear",
        {"task_instances": [ref], "only_running": True, "dry_run": True},
    )
    assert only_running["changed"] == []  # nothing runs


def test_a_map_index_the_run_lacks_is_a_404_that_names_it(world: World) -> None:
    (run,) = _runs(world, 1)
    client = world.client("op")
    ref = {"dag_id": "fan", "run_id": run, "task_id": "each", "map_index": 7}
    response = client.post(
        "/api/v1/task-instances/mark", json={"task_instances": [ref], "state": "success"}
    )
    assert response.status_code == 404 and "map_index 7" in response.text, response.text
    bad = client.post(
        "/api/v1/task-instances/clear", json={"task_instances": [{**ref, "map_index": -2}]}
    )
    assert bad.status_code == 422 and "map_index" in bad.text, bad.text


def test_mark_one_instance_with_its_options(world: World) -> None:
    first, second, third = _runs(world, 3)
    client = world.client("op")
    ref = {"dag_id": "fan", "run_id": second, "task_id": "each", "map_index": 1}
    # Alone: that instance, and (as Airflow's set_task_instance_state does) the task below
    # it that its failure held back, cleared to run again.
    alone = _changed(
        _post(
            client,
            "task-instances/mark",
            {"task_instances": [ref], "state": "success", "dry_run": True},
        )
    )
    assert alone == {
        (second, "each", 1): ("failed", "success"),
        (second, "total", -1): ("upstream_failed", "none"),
    }
    # With downstream and future: the same instance in the later run, and the task after.
    changed = _preview_then_do(
        world,
        client,
        "task-instances/mark",
        {"task_instances": [ref], "state": "success", "downstream": True, "future": True},
    )
    assert changed == {
        (second, "each", 1): ("failed", "success"),
        (second, "total", -1): ("upstream_failed", "success"),
        (third, "each", 1): ("failed", "success"),
        (third, "total", -1): ("upstream_failed", "success"),
    }
    states = _states(world)
    assert states[(first, "each", 1)] == "failed"  # not the past
    # With upstream: failed marks each instance of the (whole) task upstream of ``total``.
    up = _changed(
        _post(
            client,
            "task-instances/mark",
            {
                "task_instances": [{"dag_id": "fan", "run_id": first, "task_id": "total"}],
                "state": "failed",
                "upstream": True,
                "dry_run": True,
            },
        )
    )
    assert up == {
        (first, "each", 0): ("success", "failed"),
        (first, "each", 2): ("success", "failed"),
        (first, "total", -1): ("upstream_failed", "failed"),
    }


def _run_row(world: World, run_id: str) -> Any:
    with world.store.read() as conn:
        return conn.execute(
            select(dag_run.c.state, dag_run.c.start_date, dag_run.c.end_date).where(
                dag_run.c.dag_id == "fan", dag_run.c.run_id == run_id
            )
        ).one()


def _tries(world: World) -> dict[Key, int]:
    with world.store.read() as conn:
        rows = conn.execute(
            select(
                dag_run.c.run_id,
                task_instance.c.task_id,
                task_instance.c.map_index,
                task_instance.c.try_number,
            ).join(dag_run, dag_run.c.id == task_instance.c.run_pk)
        )
        return {(r.run_id, r.task_id, r.map_index): r.try_number for r in rows}


def test_a_failed_run_marked_success_keeps_its_history(world: World) -> None:
    (run,) = _runs(world, 1)
    client = world.client("op")
    was = _run_row(world, run)
    tries = _tries(world)
    assert was.state == "failed" and was.start_date and was.end_date
    body = {"runs": [{"dag_id": "fan", "run_id": run}], "state": "success"}
    preview = _post(client, "runs/mark", {**body, "dry_run": True})
    assert preview["runs"] == [
        {"dag_id": "fan", "run_id": run, "before": "failed", "after": "success"}
    ]
    assert _run_row(world, run) == was
    done = _post(client, "runs/mark", body)
    assert done["runs"] == preview["runs"]
    assert _changed(done) == {
        (run, "each", 1): ("failed", "success"),
        (run, "total", -1): ("upstream_failed", "success"),
    }
    now = _run_row(world, run)
    assert (now.state, now.start_date, now.end_date) == ("success", was.start_date, was.end_date)
    assert _tries(world) == tries  # no try queued or added
    # The single route does the same, and failed goes back the same way.
    single = client.post(f"/api/v1/dags/fan/runs/{run}/mark", json={"state": "failed"})
    assert single.status_code == 200 and single.json()["run_state"] == "failed", single.text
    again = _run_row(world, run)
    assert (again.state, again.start_date, again.end_date) == (
        "failed",
        was.start_date,
        was.end_date,
    )


def _audit(client: TestClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params={"limit": "500", **query})
    assert response.status_code == 200, response.text
    return response.json()["entries"]  # type: ignore[no-any-return]


def _events(client: TestClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/v2/eventLogs", params={"order_by": "-id", **query})
    assert response.status_code == 200, response.text
    return response.json()["event_logs"]  # type: ignore[no-any-return]


def test_the_audit_log_has_each_action_once_per_run_naming_it_and_no_preview(
    world: World,
) -> None:
    """A clear or mark is one entry per run it was asked about, whose target names the run
    and the task (as Airflow's event log: dag_id, run_id, task_id, map_index); a preview
    is none."""
    (run,) = _runs(world, 1)
    failing = world.trigger("failing")
    world.run(failing)
    failing_run = world.run_id(failing)
    op = world.client("op")
    admin = world.client("admin")
    refs = [
        {"dag_id": "fan", "run_id": run, "task_id": "each", "map_index": 1},
        {"dag_id": "failing", "run_id": failing_run, "task_id": "explode"},
    ]
    before = len(_audit(admin))
    _post(op, "task-instances/clear", {"task_instances": refs, "dry_run": True})
    _post(op, "task-instances/mark", {"task_instances": refs, "state": "success", "dry_run": True})
    assert len(_audit(admin)) == before, "a preview was recorded as an action"
    _post(op, "task-instances/clear", {"task_instances": refs})
    entries = _audit(admin)
    assert len(entries) == before + 2  # one per run
    fan = _audit(admin, dag_id="fan")
    assert [(e["action"], e["target"], e["dag_id"]) for e in fan] == [
        ("task.clear", f"fan/{run}/each", "fan")
    ]
    assert fan[0]["details"]["task_instances"] == [refs[0]]
    assert fan[0]["details"]["changed"] == ["each[1]"]
    failing_entries = _audit(admin, dag_id="failing")
    assert [(e["action"], e["target"]) for e in failing_entries] == [
        ("task.clear", f"failing/{failing_run}/explode")
    ]
    cleared = _events(admin, dag_id="fan", event="task.clear")[0]
    assert (cleared["run_id"], cleared["task_id"], cleared["map_index"]) == (run, "each", 1)

    _post(op, "runs/mark", {"runs": [{"dag_id": "fan", "run_id": run}], "state": "failed"})
    marked = _audit(admin, dag_id="fan")[0]
    assert (marked["action"], marked["target"]) == ("run.mark", f"fan/{run}")
    event = _events(admin, dag_id="fan", event="run.mark")[0]
    assert (event["run_id"], event["task_id"], event["map_index"]) == (run, None, None)

    # Two tasks of one run: one entry, on the run, naming both.
    both = [
        {"dag_id": "fan", "run_id": run, "task_id": "each", "map_index": 0},
        {"dag_id": "fan", "run_id": run, "task_id": "total"},
    ]
    _post(op, "task-instances/mark", {"task_instances": both, "state": "success"})
    marked = _audit(admin, dag_id="fan")[0]
    assert (marked["action"], marked["target"]) == ("task.mark", f"fan/{run}")
    assert marked["details"]["task_ids"] == ["each", "total"]


def test_the_v2_marks_and_clears_name_their_run_and_task(world: World) -> None:
    """Through /api/v2 too: a task instance's PATCH names its run, task and map index, a
    run's PATCH its run, clearTaskInstances each run it clears; their dry runs none."""
    (run,) = _runs(world, 1)
    admin = world.client("admin")
    base = f"/api/v2/dags/fan/dagRuns/{run}/taskInstances/each"
    before = len(_audit(admin))
    response = admin.patch(f"{base}/2/dry_run", json={"new_state": "failed"})
    assert response.status_code == 200, response.text
    assert len(_audit(admin)) == before, "a dry run was recorded as an action"
    response = admin.patch(f"{base}/2", json={"new_state": "failed"})
    assert response.status_code == 200, response.text
    event = _events(admin, dag_id="fan")[0]
    assert (event["event"], event["run_id"], event["task_id"], event["map_index"]) == (
        "task.mark",
        run,
        "each",
        2,
    )
    assert _audit(admin, dag_id="fan")[0]["target"] == f"fan/{run}/each"

    response = admin.patch(f"/api/v2/dags/fan/dagRuns/{run}", json={"state": "success"})
    assert response.status_code == 200, response.text
    entry = _audit(admin, dag_id="fan")[0]
    assert (entry["action"], entry["target"]) == ("run.mark", f"fan/{run}")

    body = {"dag_run_id": run, "task_ids": ["total"], "only_failed": False}
    response = admin.post("/api/v2/dags/fan/clearTaskInstances", json=body)  # a dry run
    assert response.status_code == 200, response.text
    assert _audit(admin, dag_id="fan")[0] == entry, "a dry run was recorded as an action"
    response = admin.post("/api/v2/dags/fan/clearTaskInstances", json={**body, "dry_run": False})
    assert response.status_code == 200, response.text
    event = _events(admin, dag_id="fan")[0]
    assert (event["event"], event["run_id"], event["task_id"], event["map_index"]) == (
        "task.clear",
        run,
        "total",
        None,
    )


def _run_state(client: TestClient, run: str) -> str:
    response = client.get(f"/api/v1/dags/fan/runs/{run}")
    assert response.status_code == 200, response.text
    return response.json()["state"]  # type: ignore[no-any-return]


def _single_preview_then_do(
    world: World,
    path: str,
    body: dict[str, Any],
    bulk_path: str,
    bulk_body: dict[str, Any],
) -> dict[Key, tuple[str, str]]:
    """The action on one task instance or run (``path``): its preview writes nothing and
    leaves no audit entry, lists what the bulk action's preview of the same choice lists,
    in the same shape; confirming it changes exactly that, with one audit entry."""
    op, admin = world.client("op"), world.client("admin")
    run = path.split("/")[3]
    before, run_before, entries = _states(world), _run_state(op, run), len(_audit(admin))
    preview = _post(op, path, {**body, "dry_run": True})
    assert preview["dry_run"] is True
    assert _states(world) == before and _run_state(op, run) == run_before, "the preview wrote"
    assert len(_audit(admin)) == entries, "a preview was recorded as an action"
    bulk = _post(op, bulk_path, {**bulk_body, "dry_run": True})
    assert (preview["instances"], preview["stopped_instances"], preview["runs"]) == (
        bulk["changed"],
        bulk["stopped"],
        bulk["runs"],
    )
    listed = _changed({"changed": preview["instances"]})
    assert sorted(preview["changed"]) == sorted({task for _, task, _ in listed})
    done = _post(op, path, body)
    assert done["dry_run"] is False
    assert (done["instances"], done["runs"]) == (preview["instances"], preview["runs"])
    after = _states(world)
    assert {k: (before[k], after[k]) for k in after if before.get(k) != after[k]} == listed
    assert _run_state(op, run) == preview["runs"][0]["after"]
    assert len(_audit(admin)) == entries + 1
    return listed


def test_the_single_actions_preview_with_dry_run_as_the_bulk_ones_do(world: World) -> None:
    first, second = _runs(world, 2)
    one = f"dags/fan/runs/{second}"
    mapped = {"dag_id": "fan", "run_id": second, "task_id": "each", "map_index": 1}
    cleared = _single_preview_then_do(
        world,
        f"{one}/tasks/each/mapped/1/clear",
        {"downstream": True},
        "task-instances/clear",
        {"task_instances": [mapped], "downstream": True},
    )
    assert cleared == {
        (second, "each", 1): ("failed", "none"),
        (second, "total", -1): ("upstream_failed", "none"),
    }
    marked = _single_preview_then_do(
        world,
        f"{one}/tasks/total/mark",
        {"state": "failed"},
        "task-instances/mark",
        {"task_instances": [{**mapped, "task_id": "total", "map_index": None}], "state": "failed"},
    )
    assert marked == {(second, "total", -1): ("none", "failed")}
    run = {"dag_id": "fan", "run_id": first}
    assert _single_preview_then_do(
        world,
        f"dags/fan/runs/{first}/clear",
        {"only_failed": True},
        "runs/clear",
        {"runs": [run], "only_failed": True},
    ) == {(first, "each", 1): ("failed", "none"), (first, "total", -1): ("upstream_failed", "none")}
    assert _single_preview_then_do(
        world,
        f"dags/fan/runs/{second}/mark",
        {"state": "success"},
        "runs/mark",
        {"runs": [{**run, "run_id": second}], "state": "success"},
    ) == {
        (second, "each", 1): ("none", "success"),
        (second, "total", -1): ("failed", "success"),
    }
