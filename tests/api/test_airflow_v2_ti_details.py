"""``/api/v2``'s read routes about one task instance and one run's origin: why an instance
waits (``dependencies``), its extra links, the external log URL, and the asset events that
triggered a run. One world a backend (SQLite, PostgreSQL): ``pipeline`` ran and
succeeded, ``failing`` failed, and each test adds what it needs without running it."""

from __future__ import annotations

import textwrap
from typing import Any

from api_helpers import PASSWORDS, World, make_world, module_world
from fastapi.testclient import TestClient

from conveyor.clock import utcnow
from conveyor.lifecycle import Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.datasets import create_dataset_runs
from conveyor.store.tables import dag_run

ORDERS = "s3://lake/orders_ti_details"
CONSUMER = textwrap.dedent(
    f"""
    from datetime import datetime

    from conveyor import DAG, BashOperator
    from conveyor.datasets import Dataset

    with DAG("consumer", schedule=[Dataset("{ORDERS}")], start_date=datetime(2024, 1, 1)):
        BashOperator(task_id="report", bash_command="echo report")
    """
)


def _build(tmp: Any, url: str) -> World:
    world = make_world(tmp, url)
    (tmp / "dags" / "consumer.py").write_text(CONSUMER)
    DagFileProcessor(world.store, tmp / "dags", timeout=30, scan_every=1).sync()
    return world


world = module_world("world", _build)


def _as(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _tis(dag_id: str, run_id: str) -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"


def test_a_waiting_task_names_what_it_waits_for(world: World) -> None:
    viewer = _as(world, "viewer")
    run_id = world.run_id(world.trigger("pipeline"))  # queued, not run
    base = _tis("pipeline", run_id)
    first = _ok(viewer.get(f"{base}/extract/dependencies"))["dependencies"]
    assert [d["name"] for d in first] == ["Dagrun Running"]
    assert "max_active_runs" in first[0]["reason"]
    # A finished run's instances wait on nothing.
    done = _tis("pipeline", world.run_ids["pipeline"])
    assert _ok(viewer.get(f"{done}/extract/dependencies")) == {"dependencies": []}
    # The failed run's downstream task ended upstream_failed: nothing to wait for either.
    failed = _tis("failing", world.run_ids["failing"])
    assert _ok(viewer.get(f"{failed}/after/dependencies")) == {"dependencies": []}


def test_a_task_waiting_on_its_upstream_names_the_trigger_rule(world: World) -> None:
    viewer = _as(world, "viewer")
    run_pk = world.trigger("pipeline")
    with world.store.write() as conn:  # the run started: its first task may go
        conn.execute(dag_run.update().where(dag_run.c.id == run_pk).values(state="running"))
    base = _tis("pipeline", world.run_id(run_pk))
    waiting = _ok(viewer.get(f"{base}/load/dependencies"))["dependencies"]
    assert [d["name"] for d in waiting] == ["Trigger Rule"]
    assert "extract" in waiting[0]["reason"]
    ready = _ok(viewer.get(f"{base}/extract/dependencies"))["dependencies"]
    assert [d["name"] for d in ready] == ["Task Instance State"]


def test_dependencies_of_an_unknown_instance_or_map_index_are_404(world: World) -> None:
    viewer = _as(world, "viewer")
    base = _tis("pipeline", world.run_ids["pipeline"])
    missing = viewer.get(f"{base}/nothing_here/dependencies")
    assert missing.status_code == 404 and "nothing_here" in missing.json()["detail"]
    assert viewer.get(f"{base}/extract/3/dependencies").status_code == 404
    assert viewer.get(f"{base}/extract/dependencies", params={"map_index": -7}).status_code == 422
    assert world.client().get(f"{base}/extract/dependencies").status_code == 401


def test_a_task_has_no_extra_links_and_no_external_log_url(world: World) -> None:
    viewer = _as(world, "viewer")
    base = _tis("pipeline", world.run_ids["pipeline"])
    links = _ok(viewer.get(f"{base}/talk/links"))
    assert links == {"extra_links": {}, "total_entries": 0}
    assert _ok(viewer.get(f"{base}/talk/links", params={"try_number": 1}))["total_entries"] == 0
    assert viewer.get(f"{base}/talk/links", params={"try_number": 9}).status_code == 404
    assert viewer.get(f"{base}/nothing_here/links").status_code == 404
    refused = viewer.get(f"{base}/talk/externalLogUrl/1")
    assert refused.status_code == 400
    assert f"{base}/talk/logs/1" in refused.json()["detail"]
    assert viewer.get(f"{base}/talk/externalLogUrl/0").status_code == 422
    assert world.client().get(f"{base}/talk/links").status_code == 401


def test_a_run_lists_the_asset_events_that_triggered_it(world: World) -> None:
    op = _as(world, "op")
    assets = _ok(op.get("/api/v2/assets", params={"uri_pattern": "orders_ti_details"}))["assets"]
    (asset,) = assets
    made = _ok(op.post("/api/v2/assets/events", json={"asset_id": asset["id"]}))
    assert create_dataset_runs(world.store, Actor("test"), utcnow()) == 1
    (run,) = _ok(op.get("/api/v2/dags/consumer/dagRuns"))["dag_runs"]
    assert run["run_type"] == "asset_triggered"
    events = _ok(op.get(f"/api/v2/dags/consumer/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"))
    assert [e["id"] for e in events["asset_events"]] == [made["id"]]
    assert events["asset_events"][0]["uri"] == ORDERS and events["total_entries"] == 1
    # A run triggered by hand consumed no event.
    manual = world.run_ids["pipeline"]
    none = _ok(op.get(f"/api/v2/dags/pipeline/dagRuns/{manual}/upstreamAssetEvents"))
    assert none == {"asset_events": [], "total_entries": 0}
    assert op.get("/api/v2/dags/pipeline/dagRuns/nope/upstreamAssetEvents").status_code == 404
