"""Bad input to ``/api/v2`` is refused with Airflow's status and a reason naming the field:
422 with FastAPI's list of errors (``loc`` names where), 400 for what Airflow refuses so,
never a 500; and what Conveyor does not do is refused, not ignored."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import PASSWORDS, World, make_world, module_world
from fastapi.testclient import TestClient

world = module_world("world", lambda tmp, url: make_world(tmp, url, execute=("pipeline",)))


@pytest.fixture(scope="module")
def op(world: World) -> TestClient:
    client = world.client()
    token = client.post("/auth/token", json={"username": "op", "password": PASSWORDS["op"]})
    return world.token_client(token.json()["access_token"])


def _where(answer: Any) -> list[list[Any]]:
    assert answer.status_code == 422, answer.text
    return [error["loc"] for error in answer.json()["detail"]]


def test_a_trigger_without_its_required_field_names_it(op: TestClient) -> None:
    assert _where(op.post("/api/v2/dags/pipeline/dagRuns", json={"conf": {}})) == [
        ["body", "logical_date"]
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"logical_date": None, "conf": [1, 2]}, ["body", "conf"]),
        ({"logical_date": "tomorrow"}, ["body", "logical_date"]),
        ({"logical_date": "2026-01-01T00:00:00"}, ["body", "logical_date"]),
        ({"logical_date": None, "colour": "red"}, ["body", "colour"]),
        ({"logical_date": None, "note": "x" * 1001}, ["body", "note"]),
    ],
)
def test_a_malformed_trigger_body_names_the_field(
    op: TestClient, body: dict[str, Any], field: list[str]
) -> None:
    assert field in _where(op.post("/api/v2/dags/pipeline/dagRuns", json=body))


def test_bodies_that_are_not_json_or_not_objects(op: TestClient) -> None:
    answer = op.post(
        "/api/v2/dags/pipeline/dagRuns",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert op.patch("/api/v2/dags/pipeline", json=["is_paused"]).status_code == 422
    assert _where(op.patch("/api/v2/dags/pipeline", json={"is_paused": "maybe"})) == [
        ["body", "is_paused"]
    ]


def test_states_and_queries(op: TestClient, world: World) -> None:
    run_id = world.run_ids["pipeline"]
    refused = op.patch(f"/api/v2/dags/pipeline/dagRuns/{run_id}", json={"state": "running"})
    assert _where(refused) == [["body", "state"]]
    assert _where(op.get("/api/v2/dags", params={"limit": -1})) == [["query", "limit"]]
    assert _where(op.get("/api/v2/dags/~/dagRuns", params={"start_date_gte": "yesterday"})) == [
        ["query", "start_date_gte"]
    ]
    naive = op.get("/api/v2/dags/~/dagRuns", params={"start_date_gte": "2026-01-01T00:00:00"})
    assert _where(naive) == [["query", "start_date_gte"]]
    state = op.get("/api/v2/dags/~/dagRuns/~/taskInstances", params={"state": "sleepy"})
    assert _where(state) == [["query", "state"]] and "sleepy" in state.json()["detail"][0]["msg"]


def test_what_conveyor_does_not_do_is_refused_with_the_reason(op: TestClient, world: World) -> None:
    run_id = world.run_ids["pipeline"]
    cursor = op.get("/api/v2/dags/~/dagRuns", params={"cursor": "abc"})
    assert cursor.status_code == 400 and "cursor" in cursor.json()["detail"]
    order = op.get("/api/v2/dags/~/dagRuns", params={"order_by": "-colour"})
    assert order.status_code == 400 and "colour" in order.json()["detail"]
    queued = op.patch(f"/api/v2/dags/pipeline/dagRuns/{run_id}", json={"state": "queued"})
    assert queued.status_code == 400 and "clear" in queued.json()["detail"]
    skipped = op.patch(
        f"/api/v2/dags/pipeline/dagRuns/{run_id}/taskInstances/talk", json={"new_state": "skipped"}
    )
    assert skipped.status_code == 400 and "new_state" in skipped.json()["detail"]
    interval = op.post(
        "/api/v2/dags/pipeline/dagRuns",
        json={"logical_date": None, "data_interval_start": "2026-01-01T00:00:00Z"},
    )
    assert interval.status_code == 400 and "data_interval_start" in interval.json()["detail"]
    unknown = op.delete("/api/v2/dags/nope")  # deleting a DAG: test_airflow_v2_dag_deletion
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


def test_unknown_things_are_404_naming_them(op: TestClient, world: World) -> None:
    assert op.get("/api/v2/dags/nope").status_code == 404
    missing_run = op.get("/api/v2/dags/pipeline/dagRuns/nope")
    assert missing_run.status_code == 404 and "nope" in missing_run.json()["detail"]
    run_id = world.run_ids["pipeline"]
    missing_task = op.get(f"/api/v2/dags/pipeline/dagRuns/{run_id}/taskInstances/nope")
    assert missing_task.status_code == 404 and "nope" in missing_task.json()["detail"]
    no_try = op.get(f"/api/v2/dags/pipeline/dagRuns/{run_id}/taskInstances/talk/tries/9")
    assert no_try.status_code == 404
    no_interval = op.get(f"/api/v2/dags/pipeline/dagRuns/{run_id}/wait")
    assert _where(no_interval) == [["query", "interval"]]
    gone = op.get("/api/v2/dags/pipeline/dagRuns/nope/wait", params={"interval": 1})
    assert gone.status_code == 404 and "nope" in gone.json()["detail"]
    done = op.get(f"/api/v2/dags/pipeline/dagRuns/{run_id}/wait", params={"interval": 1})
    assert done.status_code == 200 and done.text == '{"state": "success"}\n'
    bad_token = op.get(
        f"/api/v2/dags/pipeline/dagRuns/{run_id}/taskInstances/talk/logs/1", params={"token": "!!"}
    )
    assert bad_token.status_code == 400 and "token" in bad_token.json()["detail"]
