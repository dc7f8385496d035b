"""``POST /api/v2/assets/{asset_id}/materialize``: the one DAG whose task names the asset
as an outlet gets a queued run of type ``asset_materialization`` (Airflow's answer, the run
listed and filtered by that type, an audit entry naming the DAG), which the real scheduler
runs with ``dag_run.run_type`` as Airflow's; 404 when no DAG makes the asset, 409 when
several do, 403 for a caller who may not trigger the DAG, 400 for what Conveyor cannot set
(both backends)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import PASSWORDS, World, close, make_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.mapping import xcom_value
from conveyor.store.tables import audit_log, dag_run

ASSETS = """
    from airflow.sdk import DAG, Asset, task

    ORDERS = Asset("s3://lake/orders")
    SHARED = Asset("s3://lake/shared")

    with DAG("orders_maker", schedule=None):

        @task(outlets=[ORDERS, SHARED])
        def build(dag_run=None, params=None):
            return [dag_run.run_type.value, params.get("size", 0)]

        build()

    with DAG("shared_maker", schedule=None):

        @task(outlets=[SHARED])
        def also():
            return 1

        also()

    with DAG("orders_reader", schedule=[ORDERS]):

        @task
        def read():
            return 1

        read()
"""


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    (tmp_path / "dags" / "assets.py").write_text(textwrap.dedent(ASSETS))
    DagFileProcessor(built.store, tmp_path / "dags", timeout=30, scan_every=1).sync()
    yield built
    close(built)


def _client(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    return world.token_client(token.json()["access_token"])


def _asset_ids(client: TestClient) -> dict[str, int]:
    answer = client.get("/api/v2/assets")
    assert answer.status_code == 200, answer.text
    return {a["uri"]: a["id"] for a in answer.json()["assets"]}


def test_materializing_queues_a_run_of_the_producer_that_runs_as_airflows(world: World) -> None:
    op = _client(world, "op")
    orders = _asset_ids(op)["s3://lake/orders"]
    answer = op.post(
        f"/api/v2/assets/{orders}/materialize", json={"conf": {"size": 3}, "note": "refill"}
    )
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["dag_id"] == "orders_maker"
    assert run["run_type"] == "asset_materialization"
    assert run["state"] == "queued" and run["note"] == "refill" and run["conf"] == {"size": 3}
    assert (run["triggered_by"], run["triggering_user_name"]) == ("rest_api", "op")
    assert run["dag_run_id"].startswith("asset_materialization__")
    listed = op.get("/api/v2/dags/~/dagRuns", params={"run_type": "asset_materialization"})
    assert [r["dag_run_id"] for r in listed.json()["dag_runs"]] == [run["dag_run_id"]]
    assert (
        op.get("/api/v2/dags/~/dagRuns", params={"run_type": "manual"}).json()["total_entries"] == 0
    )
    with world.store.read() as conn:
        run_pk = conn.execute(
            select(dag_run.c.id).where(dag_run.c.run_id == run["dag_run_id"])
        ).scalar_one()
        entries = conn.execute(
            select(
                audit_log.c.action, audit_log.c.dag_id, audit_log.c.target, audit_log.c.details
            ).where(audit_log.c.action == "asset.materialize")
        ).all()
    assert [(e.action, e.dag_id, e.target) for e in entries] == [
        ("asset.materialize", "orders_maker", f"orders_maker/{run['dag_run_id']}")
    ]
    assert entries[0].details["asset_id"] == orders

    world.run(run_pk)
    done = op.get(f"/api/v2/dags/orders_maker/dagRuns/{run['dag_run_id']}").json()
    assert done["state"] == "success" and done["run_type"] == "asset_materialization"
    with world.store.read() as conn:
        # What the task saw: Airflow's run type, and the conf sent.
        assert xcom_value(conn, run_pk, "build", "return_value") == ["asset_materialization", 3]


def test_a_body_is_optional_and_a_run_id_is_used_once(world: World) -> None:
    op = _client(world, "op")
    orders = _asset_ids(op)["s3://lake/orders"]
    bare = op.post(f"/api/v2/assets/{orders}/materialize")
    assert bare.status_code == 200, bare.text
    assert bare.json()["conf"] == {}
    named = op.post(f"/api/v2/assets/{orders}/materialize", json={"dag_run_id": "refill-1"})
    assert named.status_code == 200 and named.json()["dag_run_id"] == "refill-1"
    again = op.post(f"/api/v2/assets/{orders}/materialize", json={"dag_run_id": "refill-1"})
    assert again.status_code == 409
    assert "already has a run 'refill-1'" in again.json()["detail"]


def test_no_producer_several_producers_and_what_conveyor_cannot_set(world: World) -> None:
    op = _client(world, "op")
    ids = _asset_ids(op)
    shared = op.post(f"/api/v2/assets/{ids['s3://lake/shared']}/materialize")
    assert shared.status_code == 409
    assert shared.json()["detail"] == (
        f"More than one Dag materializes asset with ID: {ids['s3://lake/shared']}"
    )
    unknown = op.post("/api/v2/assets/424242/materialize")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "No Dag materializes asset with ID: 424242"
    url = f"/api/v2/assets/{ids['s3://lake/orders']}/materialize"
    interval = op.post(url, json={"data_interval_start": "2026-01-01T00:00:00Z"})
    assert interval.status_code == 400 and "data_interval_start" in interval.json()["detail"]
    unknown_field = op.post(url, json={"size": 3})
    assert unknown_field.status_code == 422
    with world.store.read() as conn:
        assert conn.execute(select(dag_run.c.id)).first() is None  # nothing was queued


def test_a_viewer_may_not_materialize(world: World) -> None:
    viewer = _client(world, "viewer")
    orders = _asset_ids(viewer)["s3://lake/orders"]
    refused = viewer.post(f"/api/v2/assets/{orders}/materialize")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "User is not authorized to trigger a run for Dag: orders_maker that materializes this asset"
    )
