"""Marking many task instances through /api/v2: a task group's instances
(``PATCH .../taskGroupInstances/{group_id}`` and its ``/dry_run``) and Airflow's bulk body
over task instances (``PATCH .../taskInstances``). Marks go through the single mark's use
case: marking the failed task success resumes the run. Both stores.
"""

from __future__ import annotations

from api_helpers import World, module_world
from bulk_world import (
    GINA,
    api_client,
    build,
    failed_run,
    notes,
    ok,
    run_pk,
    run_state,
    states,
)

world = module_world("world", build)

FAILED = {
    "start": "success",
    "work.a": "failed",
    "work.inner.b": "success",
    "end": "upstream_failed",
}


def _group(run_id: str, group_id: str = "work", dag_id: str = "grouped") -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskGroupInstances/{group_id}"


def test_a_group_marked_success_resumes_its_run_and_the_preview_changes_nothing(
    world: World,
) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    assert states(op, run_id) == FAILED

    preview = ok(op.patch(_group(run_id) + "/dry_run", json={"new_state": "success"}))
    # The group's instances, nested group included, as they are now.
    assert {t["task_id"]: t["state"] for t in preview["task_instances"]} == {
        "work.a": "failed",
        "work.inner.b": "success",
    }
    assert preview["total_entries"] == 2
    assert states(op, run_id) == FAILED

    marked = ok(op.patch(_group(run_id), json={"new_state": "success", "note": "checked by hand"}))
    assert {t["task_id"]: t["state"] for t in marked["task_instances"]} == {
        "work.a": "success",
        "work.inner.b": "success",
    }
    assert notes(op, run_id)["work.a"] == "checked by hand"
    assert notes(op, run_id)["work.inner.b"] == "checked by hand"
    assert notes(op, run_id)["start"] is None
    after = states(op, run_id)
    assert after["end"] is None  # below the marked task: cleared to run again
    assert run_state(op, run_id) == "queued"

    world.run(run_pk(world, run_id))
    assert states(op, run_id)["end"] == "success"
    assert run_state(op, run_id) == "success"


def test_a_group_mark_refuses_what_conveyor_does_not_do(world: World) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    unknown = op.patch(_group(run_id, "nowhere"), json={"new_state": "success"})
    assert unknown.status_code == 404 and "nowhere" in unknown.json()["detail"]
    queued = op.patch(_group(run_id), json={"new_state": "queued"})
    assert queued.status_code == 400 and "success or failed" in queued.json()["detail"]
    masked = op.patch(_group(run_id), params={"update_mask": "color"}, json={"note": "x"})
    assert masked.status_code == 400
    # Only the note, by mask: the states stay.
    ok(
        op.patch(
            _group(run_id),
            params={"update_mask": "note"},
            json={"new_state": "success", "note": "n"},
        )
    )
    assert states(op, run_id) == FAILED
    assert notes(op, run_id)["work.a"] == "n"


def test_bulk_task_instance_updates_mark_and_note_each_and_refuse_create_and_delete(
    world: World,
) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    body = {
        "actions": [
            {
                "action": "update",
                "entities": [{"task_id": "work.a", "new_state": "success", "note": "fixed"}],
            },
            {"action": "delete", "entities": ["start"]},
            {"action": "create", "entities": [{"task_id": "start"}]},
        ]
    }
    answer = ok(op.patch(f"/api/v2/dags/grouped/dagRuns/{run_id}/taskInstances", json=body))
    assert answer["update"] == {"success": [f"grouped.{run_id}.work.a"], "errors": []}
    assert answer["delete"]["success"] == [] and answer["delete"]["errors"][0]["status_code"] == 405
    assert answer["create"]["errors"][0]["status_code"] == 405
    assert states(op, run_id)["work.a"] == "success"
    assert states(op, run_id)["start"] == "success"  # not deleted
    assert notes(op, run_id)["work.a"] == "fixed"
    assert run_state(op, run_id) == "queued"  # the mark resumed the run, as the single one
    audited = ok(op.get("/api/v2/eventLogs", params={"event": "task.bulk", "dag_id": "grouped"}))
    assert audited["total_entries"] >= 1


def test_bulk_task_instance_marks_reach_downstream_when_asked(world: World) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    entity = {"task_id": "start", "new_state": "failed", "include_downstream": True}
    path = f"/api/v2/dags/grouped/dagRuns/{run_id}/taskInstances"
    answer = ok(op.patch(path, json={"actions": [{"action": "update", "entities": [entity]}]}))
    assert answer["update"]["success"] == [f"grouped.{run_id}.start"]
    # failed, as the single mark with its downstream: every task below start is failed too.
    assert states(op, run_id) == {
        "start": "failed",
        "work.a": "failed",
        "work.inner.b": "failed",
        "end": "failed",
    }


def test_bulk_task_instance_updates_across_runs_with_tilde_and_missing_instances(
    world: World,
) -> None:
    op = api_client(world, "op")
    first, second = failed_run(world), failed_run(world)
    entities = [
        {"task_id": "end", "dag_id": "grouped", "dag_run_id": first, "new_state": "failed"},
        {"task_id": "end", "dag_id": "grouped", "dag_run_id": second, "note": "seen"},
    ]
    answer = ok(
        op.patch(
            "/api/v2/dags/~/dagRuns/~/taskInstances",
            json={"actions": [{"action": "update", "entities": entities}]},
        )
    )
    assert sorted(answer["update"]["success"]) == sorted(
        [f"grouped.{first}.end", f"grouped.{second}.end"]
    )
    assert states(op, first)["end"] == "failed"
    assert states(op, second)["end"] == "upstream_failed"
    assert notes(op, second)["end"] == "seen"

    missing = [{"task_id": "nope", "new_state": "failed"}, {"task_id": "end", "note": "again"}]
    path = f"/api/v2/dags/grouped/dagRuns/{first}/taskInstances"
    failing = ok(op.patch(path, json={"actions": [{"action": "update", "entities": missing}]}))
    assert failing["update"]["success"] == []
    assert failing["update"]["errors"][0]["status_code"] == 404
    assert notes(op, first)["end"] is None  # the action failed whole
    skipping = ok(
        op.patch(
            path,
            json={
                "actions": [
                    {"action": "update", "entities": missing, "action_on_non_existence": "skip"}
                ]
            },
        )
    )
    assert skipping["update"]["success"] == [f"grouped.{first}.end"]
    assert notes(op, first)["end"] == "again"

    tilde = {"actions": [{"action": "update", "entities": [{"task_id": "end", "note": "x"}]}]}
    unnamed = ok(op.patch("/api/v2/dags/grouped/dagRuns/~/taskInstances", json=tilde))
    assert unnamed["update"]["errors"][0]["status_code"] == 400


def test_marking_many_needs_edit_on_the_dag(world: World) -> None:
    run_id = failed_run(world, "sealed")
    viewer = api_client(world, "viewer")
    gina = api_client(world, *GINA)
    update = {"actions": [{"action": "update", "entities": [{"task_id": "only", "note": "x"}]}]}
    for client in (viewer, gina):
        path = f"/api/v2/dags/sealed/dagRuns/{run_id}/taskInstances"
        assert client.patch(path, json=update).status_code == 403
        assert client.patch(_group(run_id, "g", "sealed"), json={"note": "x"}).status_code == 403
        dry = client.patch(_group(run_id, "g", "sealed") + "/dry_run", json={"note": "x"})
        assert dry.status_code == 403
    # Through ~, the entity naming a DAG Gina may only read fails with 403 and changes nothing.
    entity = {"task_id": "only", "dag_id": "sealed", "dag_run_id": run_id, "note": "x"}
    across = ok(
        gina.patch(
            "/api/v2/dags/~/dagRuns/~/taskInstances",
            json={"actions": [{"action": "update", "entities": [entity]}]},
        )
    )
    assert across["update"]["errors"][0]["status_code"] == 403
    assert notes(api_client(world, "op"), run_id, "sealed")["only"] is None
