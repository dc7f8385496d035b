"""Lists of ``/api/v2`` across DAGs and runs (``~``): filters, paging and order, the same
whether the store pages them or the filters need reading every match (both stores)."""

from __future__ import annotations

from typing import Any

from api_helpers import World, world_fixture  # noqa: F401  (fixtures)
from fastapi.testclient import TestClient


def _ids(answer: Any, *fields: str) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200, answer.text
    return [tuple(item[f] for f in fields) for item in next(iter(answer.json().values()))]


def test_task_instances_across_runs_page_alike_either_way(world: World) -> None:
    client: TestClient = world.client("viewer")
    path = "/api/v2/dags/~/dagRuns/~/taskInstances"
    fields = ("dag_id", "dag_run_id", "task_id", "map_index")
    every = client.get(path, params={"limit": 100}).json()
    assert every["total_entries"] == len(every["task_instances"]) >= 5
    for order in ("map_index", "-start_date", "task_id", "state"):
        for offset in (0, 2):
            params = {"limit": 3, "offset": offset, "order_by": order}
            paged = _ids(client.get(path, params=params), *fields)
            # A pattern matching every DAG makes the list read every match and page here.
            filtered = _ids(client.get(path, params={**params, "dag_id_pattern": "%"}), *fields)
            assert paged == filtered, order
    failed = client.get(path, params={"state": "failed"}).json()
    assert {t["dag_id"] for t in failed["task_instances"]} == {"failing"}
    assert failed["total_entries"] == len(failed["task_instances"])
    upstream = client.get(path, params={"state": ["upstream_failed", "success"], "limit": 100})
    assert {t["state"] for t in upstream.json()["task_instances"]} <= {
        "upstream_failed",
        "success",
    }


def test_runs_across_dags_filter_and_order(world: World) -> None:
    client = world.client("viewer")
    path = "/api/v2/dags/~/dagRuns"
    every = client.get(path, params={"order_by": "dag_id"}).json()
    assert [r["dag_id"] for r in every["dag_runs"]] == ["failing", "pipeline"]
    assert every["total_entries"] == 2
    assert _ids(client.get(path, params={"state": "failed"}), "dag_id") == [("failing",)]
    later = client.get(path, params={"logical_date_gt": every["dag_runs"][0]["logical_date"]})
    assert later.json()["total_entries"] <= 1
    by_type = client.get(path, params={"run_type": "scheduled"}).json()
    assert by_type["total_entries"] == 0
    conf = client.get(path, params={"conf_contains": "nothing-like-this"}).json()
    assert conf["total_entries"] == 0
    one = client.get("/api/v2/dags/pipeline/dagRuns").json()
    assert [r["dag_id"] for r in one["dag_runs"]] == ["pipeline"]
    assert one["dag_runs"][0]["triggered_by"] == "rest_api"


def test_xcom_entries_across_everything_with_airflows_filters(world: World) -> None:
    client = world.client("viewer")
    path = "/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries"
    fields = ("dag_id", "task_id", "key")
    every = _ids(client.get(path), *fields)
    assert ("pipeline", "extract", "return_value") in every
    # The store pages the plain list; any pattern makes the list filter every entry here.
    assert _ids(client.get(path, params={"limit": 1, "offset": 1}), *fields) == every[1:2]
    assert _ids(client.get(path, params={"xcom_key_pattern": "RETURN"}), *fields) == [
        e for e in every if e[2] == "return_value"
    ]
    assert _ids(client.get(path, params={"task_id_pattern": "xtra"}), *fields) == [
        e for e in every if e[1] == "extract"
    ]
    # `|` between terms and `~` for every value, as Airflow's text filters of every list.
    either = client.get(path, params={"xcom_key_pattern": "nothing|RETURN"})
    assert _ids(either, *fields) == [e for e in every if e[2] == "return_value"]
    assert _ids(client.get(path, params={"task_id_prefix_pattern": "~"}), *fields) == every
    prefixed = client.get(path, params={"run_id_prefix_pattern": "manual__"})
    assert _ids(prefixed, *fields) == every
    future = client.get(path, params={"logical_date_gt": "2999-01-01T00:00:00Z"})
    assert future.json()["total_entries"] == 0
    assert _ids(client.get(path, params={"map_index_filter": 0}), *fields) == []
    backwards = _ids(client.get(path, params={"order_by": "-task_id"}), "task_id")
    assert backwards == sorted(backwards, reverse=True)
