"""Changing many runs through /api/v2: Airflow's bulk body over a DAG's runs
(``PATCH /dags/{dag_id}/dagRuns``: mark, note, delete), clearing many runs
(``POST /dags/{dag_id}/clearDagRuns``) and ``POST /dags/{dag_id}/clearPartitions`` (these runs
have no partition key; tests/integration/test_asset_partitions.py clears keyed runs). Each goes
through the single run's use case. Both stores.
"""

from __future__ import annotations

from typing import Any

from api_helpers import World, module_world
from bulk_world import GINA, api_client, build, failed_run, ok, run_state, states

world = module_world("world", build)


def _bulk(client: Any, actions: list[dict[str, Any]], dag_id: str = "grouped") -> Any:
    return ok(client.patch(f"/api/v2/dags/{dag_id}/dagRuns", json={"actions": actions}))


def test_bulk_runs_mark_note_and_delete_each_as_the_single_routes(world: World) -> None:
    op = api_client(world, "op")
    marked, deleted = failed_run(world), failed_run(world)
    waiting = world.run_id(world.trigger("grouped"))  # queued: not deletable
    answer = _bulk(
        op,
        [
            {
                "action": "update",
                "entities": [{"dag_run_id": marked, "state": "success", "note": "fixed"}],
            },
            {"action": "delete", "entities": [deleted]},
            {"action": "create", "entities": [{"dag_run_id": "new"}]},
        ],
    )
    assert answer["update"] == {"success": [f"grouped.{marked}"], "errors": []}
    assert answer["delete"] == {"success": [f"grouped.{deleted}"], "errors": []}
    assert answer["create"]["errors"][0]["status_code"] == 405
    shown = ok(op.get(f"/api/v2/dags/grouped/dagRuns/{marked}"))
    assert (shown["state"], shown["note"]) == ("success", "fixed")
    assert set(states(op, marked).values()) == {"success"}  # every task marked, as PATCH does
    assert op.get(f"/api/v2/dags/grouped/dagRuns/{deleted}").status_code == 404
    audited = ok(op.get("/api/v2/eventLogs", params={"event": "run.bulk", "dag_id": "grouped"}))
    assert audited["total_entries"] >= 1 and audited["event_logs"][0]["owner"] == "op"

    refused = _bulk(
        op,
        [
            {"action": "delete", "entities": [waiting]},
            {"action": "update", "entities": [{"dag_run_id": marked, "state": "queued"}]},
        ],
    )
    assert refused["delete"]["errors"][0]["status_code"] == 409
    assert refused["update"]["errors"][0]["status_code"] == 400
    assert run_state(op, waiting) == "queued"
    assert run_state(op, marked) == "success"


def test_bulk_runs_missing_fail_or_skip_and_tilde_needs_dag_ids(world: World) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    entities = [{"dag_run_id": "no_such_run", "note": "x"}, {"dag_run_id": run_id, "note": "y"}]
    failing = _bulk(op, [{"action": "update", "entities": entities}])
    assert failing["update"]["success"] == []
    assert failing["update"]["errors"][0]["status_code"] == 404
    assert ok(op.get(f"/api/v2/dags/grouped/dagRuns/{run_id}"))["note"] is None
    skipping = _bulk(
        op, [{"action": "update", "entities": entities, "action_on_non_existence": "skip"}]
    )
    assert skipping["update"]["success"] == [f"grouped.{run_id}"]
    assert ok(op.get(f"/api/v2/dags/grouped/dagRuns/{run_id}"))["note"] == "y"

    unnamed = _bulk(op, [{"action": "delete", "entities": [run_id]}], dag_id="~")
    assert unnamed["delete"]["errors"][0]["status_code"] == 400
    named = _bulk(
        op,
        [
            {
                "action": "update",
                "entities": [{"dag_id": "grouped", "dag_run_id": run_id, "note": "z"}],
            }
        ],
        dag_id="~",
    )
    assert named["update"]["success"] == [f"grouped.{run_id}"]


def test_clear_dag_runs_previews_then_clears_the_runs_named(world: World) -> None:
    op = api_client(world, "op")
    first, second = failed_run(world), failed_run(world)
    body: dict[str, Any] = {
        "dag_runs": [{"dag_run_id": first}, {"dag_run_id": second}, {"dag_run_id": first}],
        "only_failed": True,
    }
    preview = ok(op.post("/api/v2/dags/grouped/clearDagRuns", json=body))  # dry_run by default
    found = sorted((t["dag_run_id"], t["task_id"]) for t in preview["task_instances"])
    assert found == sorted([(first, "work.a"), (first, "end"), (second, "work.a"), (second, "end")])
    assert run_state(op, first) == "failed" and states(op, first)["work.a"] == "failed"

    cleared = ok(
        op.post(
            "/api/v2/dags/grouped/clearDagRuns", json={**body, "dry_run": False, "note": "again"}
        )
    )
    assert [r["dag_run_id"] for r in cleared["dag_runs"]] == [first, second]
    assert cleared["total_entries"] == 2
    assert {(r["state"], r["note"]) for r in cleared["dag_runs"]} == {("queued", "again")}
    assert states(op, first)["work.a"] is None and states(op, first)["start"] == "success"

    unknown = op.post(
        "/api/v2/dags/grouped/clearDagRuns", json={"dag_runs": [{"dag_run_id": "nope"}]}
    )
    assert unknown.status_code == 404


def test_clear_dag_runs_by_a_partition_no_run_has_matches_none_and_refuses_mixed_selectors(
    world: World,
) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    by_key = ok(op.post("/api/v2/dags/grouped/clearDagRuns", json={"partition_key": "2025-01"}))
    assert by_key == {"task_instances": [], "total_entries": 0}
    done = ok(
        op.post(
            "/api/v2/dags/grouped/clearDagRuns",
            json={"partition_date_start": "2025-01-01T00:00:00Z", "dry_run": False},
        )
    )
    assert done["dag_runs"] == [] and done["total_entries"] == 0
    assert run_state(op, run_id) == "failed"
    both = {"partition_key": "k", "dag_runs": [{"dag_run_id": run_id}]}
    assert op.post("/api/v2/dags/grouped/clearDagRuns", json=both).status_code == 422
    assert op.post("/api/v2/dags/grouped/clearDagRuns", json={}).status_code == 422
    tilde = op.post("/api/v2/dags/~/clearDagRuns", json={"partition_key": "k"})
    assert tilde.status_code == 400
    latest = {"dag_runs": [{"dag_run_id": run_id}], "only_new": True}
    assert op.post("/api/v2/dags/grouped/clearDagRuns", json=latest).status_code == 400


def test_clear_partitions_counts_and_clears_only_what_matches(world: World) -> None:
    op = api_client(world, "op")
    run_id = failed_run(world)
    path = "/api/v2/dags/grouped/clearPartitions"
    nothing = ok(op.post(path, json={"partition_key": "2025-01", "clear_task_instances": True}))
    assert nothing == {"dag_runs_cleared": 0, "task_instances_cleared": 0, "dry_run": True}
    body = {"run_id": run_id, "clear_task_instances": True}
    preview = ok(op.post(path, json=body))
    # No partition fields to reset; the run's instances that would change: all four.
    assert preview == {"dag_runs_cleared": 0, "task_instances_cleared": 4, "dry_run": True}
    assert run_state(op, run_id) == "failed"
    done = ok(op.post(path, json={**body, "dry_run": False}))
    assert done == {"dag_runs_cleared": 0, "task_instances_cleared": 4, "dry_run": False}
    assert run_state(op, run_id) == "queued"
    assert set(states(op, run_id).values()) == {None}
    unknown = ok(op.post(path, json={"run_id": "nope", "clear_task_instances": True}))
    assert unknown["task_instances_cleared"] == 0
    assert op.post(path, json={"run_id": run_id, "partition_key": "k"}).status_code == 422
    assert op.post("/api/v2/dags/nodag/clearPartitions", json={"run_id": "x"}).status_code == 404


def test_changing_many_runs_needs_edit_on_the_dag(world: World) -> None:
    run_id = failed_run(world, "sealed")
    viewer = api_client(world, "viewer")
    gina = api_client(world, *GINA)
    note = {"actions": [{"action": "update", "entities": [{"dag_run_id": run_id, "note": "x"}]}]}
    clear = {"dag_runs": [{"dag_run_id": run_id}], "dry_run": False}
    for client in (viewer, gina):
        assert client.patch("/api/v2/dags/sealed/dagRuns", json=note).status_code == 403
        assert client.post("/api/v2/dags/sealed/clearDagRuns", json=clear).status_code == 403
        partitions = client.post("/api/v2/dags/sealed/clearPartitions", json={"run_id": run_id})
        assert partitions.status_code == 403
    entity = {"dag_id": "sealed", "dag_run_id": run_id}
    across = ok(
        gina.patch(
            "/api/v2/dags/~/dagRuns",
            json={"actions": [{"action": "delete", "entities": [entity]}]},
        )
    )
    assert across["delete"]["errors"][0]["status_code"] == 403
    assert gina.post("/api/v2/dags/~/clearDagRuns", json={"dag_runs": [entity]}).status_code == 403
    op = api_client(world, "op")
    assert run_state(op, run_id, "sealed") == "failed"
