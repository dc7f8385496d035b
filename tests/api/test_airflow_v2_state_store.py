"""Airflow 3.3's task and asset state stores, end to end on both backends.

A DAG file (Airflow's names) whose task keeps progress in ``task_state_store`` and a cursor
in ``asset_state_store``, fails its first try, and on its retry resumes from both, run by
the real scheduler and local executor; a consumer of the asset reads what the producer
wrote. Then the eleven ``/api/v2/.../state-store`` routes over what the tries stored:
Airflow's shapes, per-DAG access, audit entries, and 404s and 422s that say why.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from airflow_client.client.models import (
    AssetStateStoreCollectionResponse,
    AssetStateStoreResponse,
    TaskStateStoreCollectionResponse,
    TaskStateStoreResponse,
)
from api_helpers import PASSWORDS, World, make_world, module_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from cli_processes import run_cli
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.reads import runs as run_reads
from conveyor.store.tables import audit_log, dataset
from store_reads import xcom_value

RESUMABLE = """
    from datetime import datetime

    from airflow.sdk import DAG, Asset, AssetAlias, task
    from airflow.sdk.execution_time.context import NEVER_EXPIRE

    ORDERS = Asset(name="orders", uri="s3://warehouse/orders")
    ALIAS = AssetAlias("orders_alias")

    with DAG("resumable", schedule=None, start_date=datetime(2026, 1, 1)):

        @task(retries=1, retry_delay=0, outlets=[ORDERS])
        def load(task_state_store=None, asset_state_store=None, ti=None):
            tries = task_state_store.get("tries", default=[]) + [ti.try_number]
            task_state_store.set("tries", tries, retention=NEVER_EXPIRE)
            if ti.try_number == 1:
                task_state_store.set("checkpoint", {"page": 5})
                asset_state_store.set("cursor", 7)  # the task's one asset: no subscript
                raise RuntimeError("the first try loses its connection")
            return {
                "checkpoint": task_state_store.get("checkpoint"),
                "cursor": asset_state_store[ORDERS].get("cursor"),
                "tries": tries,
            }

        @task
        def mapped(x, task_state_store=None):
            assert task_state_store.get("x") is None  # each instance has its own
            task_state_store.set("x", x * 10)

        @task(outlets=[ALIAS])
        def emit(outlet_events=None):
            outlet_events[ALIAS].add(ORDERS)

        load()
        mapped.expand(x=[1, 2])
        emit()

    with DAG("reader", schedule=None, start_date=datetime(2026, 1, 1)):

        @task(inlets=[ORDERS])
        def read(asset_state_store=None):
            return asset_state_store[ORDERS].get("cursor"), asset_state_store.get("nope", 0)

        @task(inlets=[ALIAS])
        def read_through_alias(asset_state_store=None):
            return asset_state_store[ORDERS].get("cursor")  # the alias stands for ORDERS

        read()
        read_through_alias()
"""

TASK = "/api/v2/dags/resumable/dagRuns/{run}/taskInstances/load/state-store"


def _build(tmp: Path, url: str) -> World:
    world = make_world(tmp, url, execute=())
    (tmp / "dags" / "resumable.py").write_text(textwrap.dedent(RESUMABLE))
    DagFileProcessor(world.store, tmp / "dags", timeout=30, scan_every=1).sync()
    producer = world.trigger("resumable")
    world.run(producer)
    consumer = world.trigger("reader")
    world.run(consumer)
    world.run_ids = {"resumable": world.run_id(producer), "reader": world.run_id(consumer)}
    return world


world = module_world("world", _build)


def _as(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _task_url(world: World, suffix: str = "") -> str:
    return TASK.format(run=world.run_ids["resumable"]) + suffix


def _asset_id(world: World) -> int:
    with world.store.read() as conn:
        found = conn.execute(
            select(dataset.c.id).where(dataset.c.uri == "s3://warehouse/orders")
        ).scalar_one()
    return int(found)


def _xcom(world: World, dag_id: str, task_id: str) -> Any:
    with world.store.read() as conn:
        pk = run_reads.get_run(conn, dag_id, world.run_ids[dag_id]).id
        return xcom_value(conn, pk, task_id, "return_value")


def test_a_retry_resumes_from_the_task_and_asset_state_its_failed_try_stored(
    world: World,
) -> None:
    assert _xcom(world, "resumable", "load") == {
        "checkpoint": {"page": 5},
        "cursor": 7,
        "tries": [1, 2],
    }
    # The consumer (another DAG, another run) reads what the producer's try wrote.
    assert _xcom(world, "reader", "read") == (7, 0)  # the task returned a tuple
    assert _xcom(world, "reader", "read_through_alias") == 7


def test_the_routes_list_and_get_what_the_tries_stored(world: World) -> None:
    viewer = _as(world, "viewer")
    listed = _ok(viewer.get(_task_url(world)))
    assert listed["total_entries"] == 2
    assert [e["key"] for e in listed["task_state_store"]] == ["checkpoint", "tries"]
    tries = listed["task_state_store"][1]
    assert tries["value"] == [1, 2] and tries["expires_at"] is None  # NEVER_EXPIRE
    checkpoint = _ok(viewer.get(_task_url(world, "/checkpoint")))
    assert checkpoint["value"] == {"page": 5}
    assert checkpoint["expires_at"] is not None  # the default retention: 30 days
    assert set(checkpoint) == {"key", "value", "updated_at", "expires_at"}
    # Airflow's own client reads the answers into its models.
    assert TaskStateStoreCollectionResponse.from_dict(listed).total_entries == 2
    assert TaskStateStoreResponse.from_dict(checkpoint).value == {"page": 5}
    paged = _ok(viewer.get(_task_url(world), params={"limit": 1, "offset": 1}))
    assert [e["key"] for e in paged["task_state_store"]] == ["tries"]
    assert paged["total_entries"] == 2
    # Each instance of a mapped task keeps its own values.
    mapped = "/api/v2/dags/resumable/dagRuns/{}/taskInstances/mapped/state-store/x"
    one = _ok(viewer.get(mapped.format(world.run_ids["resumable"]), params={"map_index": 1}))
    assert one["value"] == 20

    asset = _ok(viewer.get(f"/api/v2/assets/{_asset_id(world)}/state-store/cursor"))
    assert asset["value"] == 7
    parsed = AssetStateStoreResponse.from_dict(asset)
    assert parsed.last_updated_by is not None and parsed.last_updated_by.kind == "task"
    every = _ok(viewer.get(f"/api/v2/assets/{_asset_id(world)}/state-store"))
    assert AssetStateStoreCollectionResponse.from_dict(every).asset_state_store[0].key == "cursor"
    assert asset["last_updated_by"] == {
        "kind": "task",
        "dag_id": "resumable",
        "run_id": world.run_ids["resumable"],
        "task_id": "load",
        "map_index": -1,
    }


def test_writes_through_the_routes_and_their_audit_entries(world: World) -> None:
    op = _as(world, "op")
    url = _task_url(world, "/note/with/slashes")
    _ok(op.put(url, json={"value": {"by": "op"}, "expires_at": None}), 204)
    stored = _ok(op.get(url))
    assert stored["key"] == "note/with/slashes" and stored["value"] == {"by": "op"}
    assert stored["expires_at"] is None
    assert _ok(op.patch(url, json={"value": [1, 2]})) is None
    assert _ok(op.get(url))["value"] == [1, 2]
    when = "2030-01-02T03:04:05Z"
    _ok(op.put(url, json={"value": "x", "expires_at": when}), 204)
    assert _ok(op.get(url))["expires_at"] == when
    _ok(op.delete(url), 204)
    _ok(op.delete(url), 204)  # a key that is not there: nothing to do
    assert op.get(url).status_code == 404

    asset_url = f"/api/v2/assets/{_asset_id(world)}/state-store"
    _ok(op.put(asset_url + "/manual", json={"value": 3}), 204)
    manual = _ok(op.get(asset_url + "/manual"))
    assert manual["last_updated_by"] == {
        "kind": "api",
        "dag_id": None,
        "run_id": None,
        "task_id": None,
        "map_index": None,
    }
    _ok(op.delete(asset_url + "/manual"), 204)
    assert [e["key"] for e in _ok(op.get(asset_url))["asset_state_store"]] == ["cursor"]

    with world.store.read() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.target, audit_log.c.details).where(
                audit_log.c.actor == "op", audit_log.c.action.like("%.state.%")
            )
        ).all()
    actions = [r.action for r in rows]
    sets = [r for r in rows if r.action == "task.state.set" and r.target.endswith("/slashes")]
    assert len(sets) == 3  # two PUTs and a PATCH
    assert "task.state.delete" in actions
    assert {"asset.state.set", "asset.state.delete"} <= set(actions)
    run_id = world.run_ids["resumable"]
    assert f"resumable/{run_id}/load/note/with/slashes" in {r.target for r in rows}
    assert f"asset/{_asset_id(world)}/manual" in {r.target for r in rows}


def test_clearing_a_store(world: World) -> None:
    op = _as(world, "op")
    mapped = "/api/v2/dags/resumable/dagRuns/{}/taskInstances/mapped/state-store".format(
        world.run_ids["resumable"]
    )
    _ok(op.delete(mapped, params={"map_index": 0}), 204)
    assert op.get(mapped + "/x", params={"map_index": 0}).status_code == 404
    assert _ok(op.get(mapped + "/x", params={"map_index": 1}))["value"] == 20
    # Not mapped index -1: the task has only mapped instances, all_map_indices takes them.
    missing = op.delete(mapped)
    assert missing.status_code == 404 and "map_index=-1" in missing.json()["detail"]
    _ok(op.delete(mapped, params={"all_map_indices": True}), 204)
    assert _ok(op.get(mapped, params={"map_index": 1}))["total_entries"] == 0

    asset_url = f"/api/v2/assets/{_asset_id(world)}/state-store"
    _ok(op.put(asset_url + "/other", json={"value": True}), 204)
    _ok(op.delete(asset_url), 204)
    assert _ok(op.get(asset_url)) == {"asset_state_store": [], "total_entries": 0}
    _ok(op.put(asset_url + "/cursor", json={"value": 7}), 204)  # back for the other tests


def test_not_found_and_bad_input_say_why(world: World) -> None:
    op = _as(world, "op")
    absent = op.get(_task_url(world, "/nothing"))
    assert absent.status_code == 404
    assert absent.json()["detail"] == "Task state store key 'nothing' not found"
    # A write needs the task instance; a read of one that is not there finds nothing.
    other_run = TASK.format(run="no_such_run")
    refused = op.put(other_run + "/k", json={"value": 1})
    assert refused.status_code == 404
    assert (
        "Task instance not found for dag_id='resumable', run_id='no_such_run'"
        in (refused.json()["detail"])
    )
    assert _ok(op.get(other_run)) == {"task_state_store": [], "total_entries": 0}
    patch = op.patch(_task_url(world, "/never_set"), json={"value": 1})
    assert patch.status_code == 404 and "'never_set' not found" in patch.json()["detail"]

    for body, words in (
        ({"value": None}, "value cannot be null"),
        ({}, "Field required"),
        ({"value": 1, "extra": 2}, "Extra inputs are not permitted"),
        ({"value": 1, "expires_at": "2030-01-01T00:00:00"}, "timezone"),
        ({"value": "x" * 70_000}, "max_value_storage_bytes"),
    ):
        bad = op.put(_task_url(world, "/k"), json=body)
        assert bad.status_code == 422, (body, bad.text)
        assert words in bad.text, (body, bad.text)
    nan = op.put(
        _task_url(world, "/k"),
        content=b'{"value": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422 and "not strict JSON" in nan.text
    long_key = op.put(_task_url(world, "/" + "k" * 513), json={"value": 1})
    assert long_key.status_code == 422 and "512" in long_key.text

    assert op.get("/api/v2/assets/999999/state-store").status_code == 404
    unknown = op.put("/api/v2/assets/999999/state-store/k", json={"value": 1})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "Asset with id 999999 not found"
    asset_url = f"/api/v2/assets/{_asset_id(world)}/state-store"
    missing = op.get(asset_url + "/nothing")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Asset state store key 'nothing' not found"
    assert op.put(asset_url + "/k", json={"value": None}).status_code == 422


def test_reading_needs_the_dag_and_writing_needs_edit(world: World) -> None:
    viewer = _as(world, "viewer")
    assert viewer.get(_task_url(world, "/tries")).status_code == 200
    for response in (
        viewer.put(_task_url(world, "/k"), json={"value": 1}),
        viewer.patch(_task_url(world, "/tries"), json={"value": 1}),
        viewer.delete(_task_url(world, "/tries")),
        viewer.delete(_task_url(world)),
        viewer.put(f"/api/v2/assets/{_asset_id(world)}/state-store/k", json={"value": 1}),
        viewer.delete(f"/api/v2/assets/{_asset_id(world)}/state-store"),
    ):
        assert response.status_code == 403, response.text
    assert world.client().get(_task_url(world)).status_code == 401
    assert _ok(viewer.get(_task_url(world, "/tries")))["value"] == [1, 2]  # nothing changed


def test_clear_on_success_drops_a_succeeded_instances_task_state(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__STATE_STORE__CLEAR_ON_SUCCESS", "True")
    run_pk = world.trigger("resumable")
    world.run(run_pk)
    with world.store.read() as conn:
        loaded = xcom_value(conn, run_pk, "load", "return_value")
    assert loaded["tries"] == [1, 2]  # the failed try's state was there for the retry
    listed = _ok(_as(world, "viewer").get(TASK.format(run=world.run_id(run_pk))))
    assert listed == {"task_state_store": [], "total_entries": 0}  # gone with the success
    # The asset's values are not the task's: they stay.
    asset = _ok(_as(world, "viewer").get(f"/api/v2/assets/{_asset_id(world)}/state-store"))
    assert "cursor" in [e["key"] for e in asset["asset_state_store"]]


def test_db_clean_deletes_task_state_whose_retention_passed(world: World) -> None:
    op = _as(world, "op")
    run_id = world.run_ids["resumable"]
    expired, kept = _task_url(world, "/expired"), _task_url(world, "/kept")
    _ok(op.put(expired, json={"value": 1, "expires_at": "2020-01-01T00:00:00Z"}), 204)
    _ok(op.put(kept, json={"value": 2, "expires_at": "2999-01-01T00:00:00Z"}), 204)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env |= {
        "CONVEYOR_HOME": str(world.tmp / "home"),
        "CONVEYOR_DATABASE_URL": world.settings.db_url,
    }
    dry = run_cli(env, "db", "clean", "--older-than", "3650d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete: 1 expired task state values" in " ".join(dry.stdout.split())
    assert op.get(expired).status_code == 200
    done = run_cli(env, "db", "clean", "--older-than", "3650d")
    assert done.returncode == 0, done.stderr
    assert "deleted: 1 expired task state values" in " ".join(done.stdout.split())
    assert op.get(expired).status_code == 404
    assert _ok(op.get(kept))["value"] == 2
    # Values without an expiry (NEVER_EXPIRE) and the asset's stay.
    assert _ok(op.get(TASK.format(run=run_id) + "/tries"))["value"] == [1, 2]
    _ok(op.delete(kept), 204)
