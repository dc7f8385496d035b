"""The task instance's views and actions in the API: a mapped task's instances under
``.../mapped/{map_index}`` (detail, log, XCom, clear and mark of that instance only),
the rendered template fields a try kept, the raw log download, and notes on runs and task
instances. Each test has its own store (SQLite and PostgreSQL) and real executed runs.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from api_helpers import World, fresh_fixture  # noqa: F401  (fixtures)

from conveyor.loading.processor import DagFileProcessor
from shared_dags import MAPPED_EACH

MAPPED = (
    """
from airflow import DAG
from airflow.decorators import task

with DAG("mapped_views", schedule=None):"""
    + MAPPED_EACH
)


def _mapped_run(world: World) -> str:
    (world.tmp / "dags" / "mapped_views.py").write_text(textwrap.dedent(MAPPED))
    DagFileProcessor(world.store, world.tmp / "dags", timeout=30, scan_every=1).sync()
    pk = world.trigger("mapped_views")
    world.run(pk)
    return world.run_id(pk)


def _get(client: Any, path: str) -> Any:
    response = client.get(f"/api/v1/{path}")
    assert response.status_code == 200, response.text
    return response.json()


def test_each_instance_of_a_mapped_task_has_its_own_routes(fresh: World) -> None:
    run_id = _mapped_run(fresh)
    client = fresh.client("op")
    task = f"dags/mapped_views/runs/{run_id}/tasks/each"
    whole = _get(client, task)
    # The task as a whole: its instances' aggregate, not instance 0 (which succeeded).
    assert whole["state"] == "failed" and whole["mapped"] is True
    assert whole["instance_states"] == {"success": 2, "failed": 1}
    assert whole["tries"] == []
    one = _get(client, f"{task}/mapped/1")
    assert (one["map_index"], one["state"], one["instances"]) == (1, "failed", [])
    assert "one is bad" in one["tries"][0]["error"]
    log = _get(client, f"{task}/mapped/1/tries/1/log")
    assert "instance with x=1" in log["text"]
    assert _get(client, f"{task}/mapped/2/xcom")["xcom"][0]["value"] == 20
    missing = client.get(f"/api/v1/{task}/mapped/7")
    assert missing.status_code == 404 and "map_index 7" in missing.json()["detail"]

    # Mark one instance: that instance only (before, every instance of the task moved).
    marked = client.post(f"/api/v1/{task}/mapped/2/mark", json={"state": "failed"})
    assert marked.status_code == 200, marked.text
    states = {i["map_index"]: i["state"] for i in _get(client, task)["instances"]}
    assert states == {0: "success", 1: "failed", 2: "failed"}
    # Clear one instance: that instance only.
    cleared = client.post(f"/api/v1/{task}/mapped/1/clear", json={})
    assert cleared.status_code == 200, cleared.text
    states = {i["map_index"]: i["state"] for i in _get(client, task)["instances"]}
    assert states == {0: "success", 1: "none", 2: "failed"}
    nowhere = client.post(f"/api/v1/{task}/mapped/7/clear", json={})
    assert nowhere.status_code == 404 and "map_index 7" in nowhere.json()["detail"]
    viewer = fresh.client("viewer")
    refused = viewer.post(f"/api/v1/{task}/mapped/0/mark", json={"state": "failed"})
    assert refused.status_code == 403


def test_a_try_keeps_its_rendered_template_fields_and_its_log_downloads(fresh: World) -> None:
    pk = fresh.trigger("pipeline", conf={"n": 5})
    fresh.run(pk)
    run_id = fresh.run_id(pk)
    client = fresh.client("viewer")
    talk = f"dags/pipeline/runs/{run_id}/tasks/talk"
    rendered = _get(client, f"{talk}/tries/1/rendered")
    assert rendered["stored"] is True
    assert rendered["fields"]["bash_command"].endswith("echo n=5")
    assert client.get(f"/api/v1/{talk}/tries/9/rendered").status_code == 404
    raw = client.get(f"/api/v1/{talk}/tries/1/log/raw")
    assert raw.status_code == 200
    assert raw.headers["content-disposition"].startswith("attachment;")
    # Each line carries the time it was written: the printed lines follow one another.
    assert re.search(r"\] line 1\n\[[^\]]+\] line 2\n", raw.text), raw.text[:500]
    assert raw.text.count("\n") > 300 and "n=5\n" in raw.text


def test_notes_on_a_run_and_a_task_instance(fresh: World) -> None:
    run_id = fresh.run_ids["failing"]
    op = fresh.client("op")
    run = f"dags/failing/runs/{run_id}"
    written = op.put(f"/api/v1/{run}/note", json={"note": "  vendor file was late  "})
    assert written.status_code == 200 and written.json() == {"note": "vendor file was late"}
    shown = _get(op, run)
    assert shown["user_note"] == "vendor file was late"
    assert shown["note"] != "vendor file was late"  # the system's reason stays its own
    listed = _get(op, "dags/failing/runs")["runs"][0]
    assert listed["user_note"] == "vendor file was late"
    task = op.put(f"/api/v1/{run}/tasks/explode/note", json={"note": "known issue"})
    assert task.status_code == 200
    assert _get(op, f"{run}/tasks/explode")["user_note"] == "known issue"
    assert op.put(f"/api/v1/{run}/tasks/explode/note", json={"note": ""}).json() == {"note": None}
    assert _get(op, f"{run}/tasks/explode")["user_note"] is None
    too_long = op.put(f"/api/v1/{run}/note", json={"note": "x" * 1001})
    assert too_long.status_code == 422 and "note" in too_long.json()["detail"]
    nowhere = op.put(f"/api/v1/{run}/tasks/nope/note", json={"note": "x"})
    assert nowhere.status_code == 404
    viewer = fresh.client("viewer")
    assert viewer.put(f"/api/v1/{run}/note", json={"note": "mine"}).status_code == 403
