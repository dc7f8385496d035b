"""Bad input gets a 4xx with a reason that says what is wrong, never a 500."""

from __future__ import annotations

import pytest
from api_helpers import (
    World,
    world_fixture,  # noqa: F401  (fixtures)
)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/api/v1/dags/nope", "no DAG 'nope'"),
        ("/api/v1/dags/nope/source", "no DAG 'nope'"),
        ("/api/v1/dags/nope/grid", "no DAG 'nope'"),
        ("/api/v1/dags/nope/runs", "no DAG 'nope'"),
        ("/api/v1/dags/pipeline/runs/nope", "DAG 'pipeline' has no run 'nope'"),
        ("/api/v1/dags/pipeline/runs/nope/tasks", "DAG 'pipeline' has no run 'nope'"),
        ("/api/v1/dags/pipeline/runs/nope/tasks/extract", "has no run 'nope'"),
    ],
)
def test_unknown_ids_are_404_with_the_reason(world: World, path: str, reason: str) -> None:
    response = world.client("viewer").get(path)
    assert response.status_code == 404
    assert reason in response.json()["detail"]


def test_unknown_task_and_try_are_404(world: World) -> None:
    client = world.client("viewer")
    run = f"/api/v1/dags/pipeline/runs/{world.run_ids['pipeline']}/tasks"
    for path in (f"{run}/nope", f"{run}/nope/xcom", f"{run}/nope/tries/1/log"):
        response = client.get(path)
        assert response.status_code == 404
        assert "no task 'nope'" in response.json()["detail"]
    missing_try = client.get(f"{run}/talk/tries/9/log")
    assert missing_try.status_code == 404
    assert "no try 9" in missing_try.json()["detail"]


def test_writes_to_unknown_things_are_404(world: World) -> None:
    client = world.client("op")
    assert client.patch("/api/v1/dags/nope", json={"is_paused": True}).status_code == 404
    assert client.post("/api/v1/dags/nope/runs", json={}).status_code == 404
    run = f"/api/v1/dags/pipeline/runs/{world.run_ids['pipeline']}/tasks/nope"
    assert client.post(f"{run}/clear", json={}).status_code == 404
    assert client.post(f"{run}/mark", json={"state": "failed"}).status_code == 404


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 100000}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"state": "exploded"}, "state"),
    ],
)
def test_bad_paging_and_filters_are_422_naming_the_parameter(
    world: World, params: dict[str, object], where: str
) -> None:
    response = world.client("viewer").get("/api/v1/dags/pipeline/runs", params=params)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"query.{where}:")


def test_paging_walks_every_run_once(world: World) -> None:
    client = world.client("viewer")
    seen = []
    for offset in range(3):
        page = client.get("/api/v1/runs", params={"limit": 1, "offset": offset}).json()
        assert page["total"] == 2 and page["limit"] == 1 and page["offset"] == offset
        seen += [r["run_id"] for r in page["runs"]]
    assert sorted(seen) == sorted(world.run_ids.values())


def test_bad_bodies_are_422_with_where_and_what(world: World) -> None:
    client = world.client("op")
    run = f"/api/v1/dags/pipeline/runs/{world.run_ids['pipeline']}/tasks/extract"
    cases = [
        ("PATCH", "/api/v1/dags/pipeline", {"is_paused": "maybe"}, "is_paused"),
        ("PATCH", "/api/v1/dags/pipeline", {}, "is_paused"),
        ("PATCH", "/api/v1/dags/pipeline", {"is_paused": True, "owner": "x"}, "owner"),
        ("POST", f"{run}/mark", {"state": "running"}, "state"),
        ("POST", f"{run}/clear", {"downstream": "yes please"}, "downstream"),
        ("POST", "/api/v1/dags/pipeline/runs", {"logical_date": "tomorrow"}, "logical_date"),
    ]
    for method, path, body, where in cases:
        response = client.request(method, path, json=body)
        assert response.status_code == 422, (method, path, body, response.text)
        assert where in response.json()["detail"], response.json()


def test_malformed_json_is_422_not_500(world: World) -> None:
    response = world.client("op").request(
        "PATCH",
        "/api/v1/dags/pipeline",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_huge_numbers_and_nul_characters_are_4xx(world: World) -> None:
    client = world.client("viewer")
    run = f"/api/v1/dags/pipeline/runs/{world.run_ids['pipeline']}/tasks/talk"
    assert client.get(f"{run}/tries/{10**30}/log").status_code == 422
    assert client.get("/api/v1/dags/pipeline/runs", params={"offset": 10**30}).status_code == 422
    assert client.get("/api/v1/dags/a%00b").status_code in (404, 422)
    assert client.get("/api/v1/dags", params={"tag": "a\x00b"}).status_code == 200


def test_log_paging_bounds(world: World) -> None:
    client = world.client("viewer")
    log = f"/api/v1/dags/pipeline/runs/{world.run_ids['pipeline']}/tasks/talk/tries/1/log"
    assert client.get(log, params={"limit": 0}).status_code == 422
    assert client.get(log, params={"tail": -1}).status_code == 422
    past_end = client.get(log, params={"offset": 10**12}).json()
    assert past_end["text"] == "" and past_end["offset"] == past_end["size"]
