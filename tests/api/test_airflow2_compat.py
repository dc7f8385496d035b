"""Airflow 2 scripts against Conveyor's ``/api/v1``, unchanged: basic auth, trigger a run
with conf, follow it to its end, list its task instances, clear one, pause a DAG, set and
read variables. Conveyor's own ``/api/v1`` clients are unaffected: on the paths both APIs
have, only a basic-auth request gets Airflow 2's answer. Both stores."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import PASSWORDS, World, close, make_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from conveyor.web import accounts
from conveyor.web.app import create_app


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    settings = built.settings.model_copy(update={"api_basic_auth": True})
    built.app.state.store.dispose()
    built.settings, built.app = settings, create_app(settings, Store(store_url))
    yield built
    close(built)


def _basic(world: World, role: str) -> TestClient:
    """What an Airflow 2 script sends: the user's name and password on every request."""
    secret = base64.b64encode(f"{role}:{PASSWORDS[role]}".encode()).decode()
    client = TestClient(world.app, base_url="http://testserver/conveyor")
    client.headers["Authorization"] = f"Basic {secret}"
    world.clients.append(client)
    return client


def _conveyor(world: World, role: str) -> TestClient:
    return world.token_client(accounts.create_token(world.store, role, "script"))


def _run_pk(world: World, run_id: str) -> int:
    with world.store.read() as conn:
        return int(conn.execute(select(dag_run.c.id).where(dag_run.c.run_id == run_id)).scalar())


def test_a_script_triggers_follows_and_clears_a_run(world: World) -> None:
    op = _basic(world, "op")
    made = op.post("/api/v1/dags/pipeline/dagRuns", json={"conf": {"n": 5}})
    assert made.status_code == 200, made.text
    run = made.json()
    assert run["state"] == "queued" and run["external_trigger"] is True
    assert run["execution_date"] == run["logical_date"] and run["conf"] == {"n": 5}
    world.run(_run_pk(world, run["dag_run_id"]))
    read = op.get(f"/api/v1/dags/pipeline/dagRuns/{run['dag_run_id']}")
    assert read.status_code == 200 and read.json()["state"] == "success", read.text
    tis = op.get(f"/api/v1/dags/pipeline/dagRuns/{run['dag_run_id']}/taskInstances").json()
    assert {ti["task_id"] for ti in tis["task_instances"]} == {"extract", "load", "talk"}
    assert all(ti["state"] == "success" and ti["execution_date"] for ti in tis["task_instances"])
    listed = op.get("/api/v1/dags/pipeline/dagRuns").json()
    assert [r["dag_run_id"] for r in listed["dag_runs"]] == [run["dag_run_id"]]
    preview = op.post(
        "/api/v1/dags/pipeline/clearTaskInstances",
        json={"dag_run_id": run["dag_run_id"], "task_ids": ["talk"], "only_failed": False},
    )
    assert preview.status_code == 200, preview.text
    assert [t["task_id"] for t in preview.json()["task_instances"]] == ["talk"]
    assert op.get(read.request.url).json()["state"] == "success"  # a dry run by default
    cleared = op.post(
        "/api/v1/dags/pipeline/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": run["dag_run_id"],
            "task_ids": ["talk"],
            "only_failed": False,
        },
    )
    assert cleared.status_code == 200, cleared.text
    talk = op.get(f"/api/v1/dags/pipeline/dagRuns/{run['dag_run_id']}/taskInstances/talk")
    assert talk.json()["state"] is None  # cleared: it runs again
    world.run(_run_pk(world, run["dag_run_id"]))
    assert op.get(talk.request.url).json()["try_number"] == 2
    bad = op.post("/api/v1/dags/pipeline/dagRuns", json={"conf": [1, 2]})
    assert bad.status_code == 422 and "conf" in str(bad.json()["detail"])
    assert _basic(world, "viewer").post("/api/v1/dags/pipeline/dagRuns", json={}).status_code == 403


def test_shared_paths_answer_airflow_2_to_basic_auth_and_conveyor_to_its_clients(
    world: World,
) -> None:
    admin, own = _basic(world, "admin"), _conveyor(world, "admin")
    made = admin.post("/api/v1/variables", json={"key": "region", "value": "eu"})
    assert made.status_code == 200 and made.json() == {
        "key": "region",
        "value": "eu",
        "description": None,
    }
    again = admin.post("/api/v1/variables", json={"key": "region", "value": "us"})
    assert again.status_code == 200 and again.json()["value"] == "us"
    assert admin.get("/api/v1/variables").json()["total_entries"] == 1
    patched = admin.patch("/api/v1/variables/region", json={"key": "region", "value": "ap"})
    assert patched.json()["value"] == "ap"
    # Conveyor's own client still gets Conveyor's answer on the same path.
    assert own.get("/api/v1/variables/region").json() == {
        "key": "region",
        "value": "ap",
        "description": None,
        "secret": False,
    }
    paused = admin.patch("/api/v1/dags/pipeline", json={"is_paused": True})
    assert paused.status_code == 200 and paused.json()["is_paused"] is True
    assert paused.json()["is_subdag"] is False
    mine = own.get("/api/v1/dags/pipeline").json()
    assert mine["is_paused"] is True and "version_hash" in mine
    assert set(admin.get("/api/v1/health").json()) == {"metadatabase", "scheduler", "triggerer"}
    assert "checks" in own.get("/api/v1/health").json()
    assert admin.delete("/api/v1/variables/region").status_code == 204
    # Conveyor's own routes keep working for its clients, and a bearer token also reaches
    # the Airflow 2 paths Conveyor's API does not have.
    assert own.get("/api/v1/dags/pipeline/runs").status_code == 200
    assert own.get("/api/v1/dags/pipeline/dagRuns").status_code == 200


def test_basic_auth_is_refused_when_the_setting_is_off(tmp_path: Path, store_url: str) -> None:
    world = make_world(tmp_path, store_url, execute=())
    try:
        answer = _basic(world, "admin").get("/api/v1/variables")
        assert answer.status_code == 401 and "api_basic_auth" in answer.json()["detail"]
        wrong = TestClient(world.app, base_url="http://testserver/conveyor")
        wrong.headers["Authorization"] = "Basic " + base64.b64encode(b"admin:nope").decode()
        assert wrong.get("/api/v1/dags/pipeline/dagRuns").status_code == 401
        wrong.close()
    finally:
        close(world)
