"""``PATCH /api/v1/dags`` pauses or unpauses every DAG a filter matches (Airflow 3's bulk
pause): by tag, search, state, exact ids or Airflow's ``dag_id_pattern``; ops only; one
transaction; an audit entry for each DAG changed. Both stores."""

from __future__ import annotations

from api_helpers import World, world_fixture_of

TAGGED = """
from conveyor import DAG, task

for dag_id, tags in [("sales_daily", ["sales"]), ("sales_weekly", ["sales"]),
                     ("ops_cleanup", ["ops"])]:
    with DAG(dag_id, schedule=None, tags=tags):
        @task
        def one():
            return 1
        one()
"""

world = world_fixture_of({"tagged.py": TAGGED})


def _paused(world: World) -> dict[str, bool]:
    listed = world.client("viewer").get("/api/v1/dags").json()["dags"]
    return {d["dag_id"]: d["is_paused"] for d in listed}


def test_bulk_pause_by_filter_with_roles_and_audit(world: World) -> None:
    op, viewer = world.client("op"), world.client("viewer")
    assert not any(_paused(world).values())

    refused = viewer.patch("/api/v1/dags", params={"tag": "sales"}, json={"is_paused": True})
    assert refused.status_code == 403
    assert not any(_paused(world).values())

    done = op.patch("/api/v1/dags", params={"tag": "sales"}, json={"is_paused": True})
    assert done.status_code == 200, done.text
    assert done.json() == {
        "is_paused": True,
        "matched": ["sales_daily", "sales_weekly"],
        "changed": ["sales_daily", "sales_weekly"],
        "total_entries": 2,
    }
    found = _paused(world)
    assert {d for d, p in found.items() if p} == {"sales_daily", "sales_weekly"}

    # Airflow's LIKE pattern, case-insensitive; a DAG already paused is matched, not changed.
    like = op.patch(
        "/api/v1/dags", params={"dag_id_pattern": "SALES\\_%"}, json={"is_paused": True}
    )
    assert like.json()["matched"] == ["sales_daily", "sales_weekly"]
    assert like.json()["changed"] == []
    ids = op.patch(
        "/api/v1/dags",
        params=[("dag_id", "sales_daily"), ("dag_id", "ops_cleanup")],
        json={"is_paused": False},
    )
    assert ids.json()["changed"] == ["sales_daily"]
    by_state = op.patch("/api/v1/dags", params={"state": "paused"}, json={"is_paused": False})
    assert by_state.json()["changed"] == ["sales_weekly"]
    assert not any(_paused(world).values())

    bad = op.patch("/api/v1/dags", params={"tag": "x"}, json={"is_paused": "maybe"})
    assert bad.status_code == 422
    extra = op.patch("/api/v1/dags", json={"is_paused": True, "tags": ["x"]})
    assert extra.status_code == 422

    entries = world.client("admin").get("/api/v1/audit", params={"action": "dag."}).json()
    changes = sorted((e["action"], e["target"]) for e in entries["entries"])
    assert changes == [
        ("dag.pause", "sales_daily"),
        ("dag.pause", "sales_weekly"),
        ("dag.unpause", "sales_daily"),
        ("dag.unpause", "sales_weekly"),
    ]
    assert all(e["actor"] == "op" for e in entries["entries"])
