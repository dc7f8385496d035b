"""The lists across DAGs (runs, task instances, the DAG list at scale) and the actions on many
task instances or runs at once, with their preview; on both stores, with real executed runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_helpers import World, fresh_fixture, world_fixture  # noqa: F401  (fixtures)

from conveyor.store import runs


def _states(client: Any, dag_id: str, run_id: str) -> dict[str, str]:
    found = client.get(f"/api/v1/dags/{dag_id}/runs/{run_id}/tasks").json()["task_instances"]
    return {t["task_id"]: t["state"] for t in found}


def _changes(result: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(c["run_id"], c["task_id"], c["before"], c["after"]) for c in result["changed"]}


# -- lists --------------------------------------------------------------------------------


def test_runs_across_dags_filter_by_state_dag_and_dates(world: World) -> None:
    client = world.client("viewer")
    failed_run = world.run_ids["failing"]
    every = client.get("/api/v1/runs").json()
    assert every["total"] == 2
    failed = client.get("/api/v1/runs", params={"state": "failed"}).json()
    assert [r["run_id"] for r in failed["runs"]] == [failed_run]
    both = client.get("/api/v1/runs", params=[("state", "failed"), ("state", "success")]).json()
    assert both["total"] == 2
    assert client.get("/api/v1/runs", params={"state": "failed,success"}).json()["total"] == 2
    part = client.get("/api/v1/runs", params={"dag_id_pattern": "FAIL"}).json()
    assert [r["dag_id"] for r in part["runs"]] == ["failing"]
    ended = datetime.now(UTC) - timedelta(hours=24)
    recent = client.get("/api/v1/runs", params={"end_date_gte": ended.isoformat()}).json()
    assert recent["total"] == 2
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/runs", params={"end_date_gte": future}).json()["total"] == 0
    by_dag = client.get("/api/v1/runs", params={"order_by": "dag_id"}).json()
    assert [r["dag_id"] for r in by_dag["runs"]] == ["failing", "pipeline"]
    paged = client.get("/api/v1/runs", params={"limit": 1, "offset": 1, "order_by": "-dag_id"})
    assert [r["dag_id"] for r in paged.json()["runs"]] == ["failing"]


def test_runs_across_dags_filter_by_run_type(world: World) -> None:
    client = world.client("viewer")
    manual = client.get("/api/v1/runs", params={"run_type": "manual"}).json()
    assert manual["total"] == 2 and {r["run_type"] for r in manual["runs"]} == {"manual"}
    either = client.get("/api/v1/runs", params={"run_type": "scheduled,backfill"}).json()
    assert either["total"] == 0
    refused = client.get("/api/v1/runs", params={"run_type": "asset"})
    assert refused.status_code == 422
    assert "run_type: 'asset' is not a run type" in refused.json()["detail"]


def test_task_instances_across_dags(world: World) -> None:
    client = world.client("viewer")
    every = client.get("/api/v1/task-instances").json()
    assert every["total"] == 5  # pipeline's three and failing's two
    failed = client.get("/api/v1/task-instances", params={"state": "failed"}).json()
    [only] = failed["task_instances"]
    assert (only["dag_id"], only["task_id"], only["run_state"]) == ("failing", "explode", "failed")
    assert only["run_id"] == world.run_ids["failing"] and only["try_number"] == 1
    since = (datetime.now(UTC) - timedelta(hours=24)).isoformat()
    window = client.get(
        "/api/v1/task-instances", params={"state": "failed", "end_date_gte": since}
    ).json()
    assert window["total"] == 1
    named = client.get("/api/v1/task-instances", params={"task_id_pattern": "LOA"}).json()
    assert [t["task_id"] for t in named["task_instances"]] == ["load"]
    one_run = client.get(
        "/api/v1/task-instances", params={"dag_id": "pipeline", "order_by": "task_id"}
    ).json()
    assert [t["task_id"] for t in one_run["task_instances"]] == ["extract", "load", "talk"]


def test_the_dag_list_is_searched_filtered_sorted_and_paged(world: World) -> None:
    client = world.client("viewer")
    every = client.get("/api/v1/dags").json()
    assert every["total"] == 2 and every["counts"]["all"] == 2
    assert every["counts"]["failed"] == 1 and every["counts"]["success"] == 1
    failed = client.get("/api/v1/dags", params={"state": "failed"}).json()
    assert [d["dag_id"] for d in failed["dags"]] == ["failing"]
    assert client.get("/api/v1/dags", params={"state": "paused"}).json()["total"] == 0
    owner = client.get("/api/v1/dags", params={"search": "data-team"}).json()
    assert [d["dag_id"] for d in owner["dags"]] == ["pipeline"]
    assert owner["dags"][0]["owner"] == "airflow, data-team"
    tagged = client.get("/api/v1/dags", params=[("tag", "numbers"), ("tag", "nope")]).json()
    assert [d["dag_id"] for d in tagged["dags"]] == ["pipeline"]
    desc = client.get("/api/v1/dags", params={"order_by": "-dag_id", "limit": 1}).json()
    assert [d["dag_id"] for d in desc["dags"]] == ["pipeline"] and desc["total"] == 2
    second = client.get("/api/v1/dags", params={"limit": 1, "offset": 1}).json()
    assert [d["dag_id"] for d in second["dags"]] == ["pipeline"]
    last = client.get("/api/v1/dags", params={"order_by": "-last_run"}).json()
    assert [d["dag_id"] for d in last["dags"]] == ["failing", "pipeline"]  # failing ran last


def test_a_dags_last_run_is_its_latest_by_logical_date(fresh: World) -> None:
    """A run made later for an earlier date (a backfill of last year) is not the last run."""
    newest = fresh.run_ids["failing"]
    with fresh.store.write() as conn:
        runs.create_manual_run(
            conn, "failing", created_by="test", logical_date=datetime(2020, 1, 1, tzinfo=UTC)
        )
    listed = fresh.client("viewer").get("/api/v1/dags", params={"search": "failing"}).json()
    [failing] = [d for d in listed["dags"] if d["dag_id"] == "failing"]
    assert failing["last_run"]["run_id"] == newest, failing["last_run"]


def test_bad_list_input_is_a_422_that_says_what(world: World) -> None:
    client = world.client("viewer")
    cases = [
        ("/api/v1/runs", {"state": "exploded"}, "exploded"),
        ("/api/v1/runs", {"order_by": "color"}, "order_by"),
        ("/api/v1/runs", {"end_date_gte": "2026-01-01T00:00:00"}, "time zone"),
        ("/api/v1/task-instances", {"state": "done"}, "done"),
        ("/api/v1/task-instances", {"order_by": "-nothing"}, "order_by"),
        ("/api/v1/dags", {"order_by": "size"}, "order_by"),
        ("/api/v1/dags", {"state": "happy"}, "state"),
    ]
    for path, params, word in cases:
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert word in response.text, response.text


# -- actions on many ----------------------------------------------------------------------


def test_preview_then_clear_the_failed_tasks_of_runs(fresh: World) -> None:
    client = fresh.client("op")
    run_id = fresh.run_ids["failing"]
    body = {"runs": [{"dag_id": "failing", "run_id": run_id}], "only_failed": True}
    preview = client.post("/api/v1/runs/clear", json={**body, "dry_run": True})
    assert preview.status_code == 200, preview.text
    assert preview.json()["dry_run"] is True
    expected = {
        (run_id, "explode", "failed", "none"),
        (run_id, "after", "upstream_failed", "none"),
    }
    assert _changes(preview.json()) == expected
    assert preview.json()["runs"] == [
        {"dag_id": "failing", "run_id": run_id, "before": "failed", "after": "queued"}
    ]
    # The preview wrote nothing.
    assert _states(client, "failing", run_id) == {"explode": "failed", "after": "upstream_failed"}
    assert client.get(f"/api/v1/dags/failing/runs/{run_id}").json()["state"] == "failed"
    done = client.post("/api/v1/runs/clear", json=body)
    assert done.status_code == 200 and done.json()["dry_run"] is False
    assert _changes(done.json()) == expected
    assert _states(client, "failing", run_id) == {"explode": "none", "after": "none"}
    assert client.get(f"/api/v1/dags/failing/runs/{run_id}").json()["state"] == "queued"


def test_clear_a_task_with_past_or_future_reaches_the_other_runs(fresh: World) -> None:
    client = fresh.client("op")
    first = fresh.run_ids["failing"]
    pks = [fresh.trigger("failing"), fresh.trigger("failing")]
    fresh.run(*pks)
    middle, last = (fresh.run_id(pk) for pk in pks)
    ref = {"dag_id": "failing", "run_id": middle, "task_id": "explode"}

    def cleared(**options: bool) -> set[str]:
        response = client.post(
            "/api/v1/task-instances/clear",
            json={"task_instances": [ref], "dry_run": True, **options},
        )
        assert response.status_code == 200, response.text
        return {(c["run_id"], c["task_id"]) for c in response.json()["changed"]}  # type: ignore[misc]

    assert cleared() == {(middle, "explode")}
    assert cleared(past=True) == {(first, "explode"), (middle, "explode")}
    assert cleared(future=True) == {(middle, "explode"), (last, "explode")}
    assert cleared(past=True, future=True, downstream=True) == {
        (run, task) for run in (first, middle, last) for task in ("explode", "after")
    }
    # Nothing of those previews was written; now clear for real with the future.
    assert _states(client, "failing", last)["explode"] == "failed"
    done = client.post(
        "/api/v1/task-instances/clear", json={"task_instances": [ref], "future": True}
    )
    assert done.status_code == 200, done.text
    assert _states(client, "failing", last)["explode"] == "none"
    assert _states(client, "failing", middle)["explode"] == "none"
    assert _states(client, "failing", first)["explode"] == "failed"


def test_mark_runs_and_task_instances_in_bulk(fresh: World) -> None:
    client = fresh.client("admin")
    run_id = fresh.run_ids["failing"]
    marked = client.post(
        "/api/v1/task-instances/mark",
        json={
            "task_instances": [{"dag_id": "failing", "run_id": run_id, "task_id": "explode"}],
            "state": "success",
        },
    )
    assert marked.status_code == 200, marked.text
    # The task below the one marked success is cleared to run again, as in Airflow.
    assert _changes(marked.json()) == {
        (run_id, "explode", "failed", "success"),
        (run_id, "after", "upstream_failed", "none"),
    }
    assert _states(client, "failing", run_id)["explode"] == "success"
    whole = client.post(
        "/api/v1/runs/mark",
        json={"runs": [{"dag_id": "failing", "run_id": run_id}], "state": "success"},
    )
    assert whole.status_code == 200, whole.text
    assert _changes(whole.json()) == {(run_id, "after", "none", "success")}
    missing = client.post(
        "/api/v1/runs/mark",
        json={"runs": [{"dag_id": "failing", "run_id": "nope"}], "state": "failed"},
    )
    assert missing.status_code == 404 and "nope" in missing.text


def test_a_viewer_may_not_act_in_bulk(fresh: World) -> None:
    client = fresh.client("viewer")
    run_id = fresh.run_ids["failing"]
    ti = [{"dag_id": "failing", "run_id": run_id, "task_id": "explode"}]
    runs = [{"dag_id": "failing", "run_id": run_id}]
    for path, body in (
        ("task-instances/clear", {"task_instances": ti, "dry_run": True}),
        ("task-instances/mark", {"task_instances": ti, "state": "success"}),
        ("runs/clear", {"runs": runs}),
        ("runs/mark", {"runs": runs, "state": "failed"}),
    ):
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 403, (path, response.text)
    assert _states(client, "failing", run_id)["explode"] == "failed"
