"""Changing things through ``/api/v2`` without a scheduler afterwards: marking runs and task
instances (with ``dry_run`` first), notes, deleting a run, XComs added, changed and
deleted, and a mapped task's instances by map index. Each test has its own store (SQLite
and PostgreSQL) with a failed run of ``failing`` executed by the real scheduler."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from typing import Any

from api_helpers import PASSWORDS, World, fresh_fixture  # noqa: F401  (fixtures)
from fastapi.testclient import TestClient

from conveyor.loading.processor import DagFileProcessor
from conveyor.store import xcom as xcom_rows
from conveyor.store.reads import runs as run_reads
from conveyor.xcom_serde import encode
from shared_dags import MAPPED_EACH

MAPPED = (
    """
from airflow import DAG
from airflow.decorators import task

with DAG("mapped_v2", schedule=None):"""
    + MAPPED_EACH
)


def _op(world: World) -> TestClient:
    client = world.client()
    token = client.post("/auth/token", json={"username": "op", "password": PASSWORDS["op"]})
    return world.token_client(token.json()["access_token"])


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def test_marking_a_task_previews_then_changes_and_the_run_follows(fresh: World) -> None:
    op = _op(fresh)
    run_id = fresh.run_ids["failing"]
    base = f"/api/v2/dags/failing/dagRuns/{run_id}/taskInstances"
    before = _ok(op.get(f"{base}/explode"))
    assert before["state"] == "failed" and before["try_number"] >= 1
    preview = _ok(op.patch(f"{base}/explode/dry_run", json={"new_state": "success"}))
    assert [t["task_id"] for t in preview["task_instances"]] == ["explode"]
    assert _ok(op.get(f"{base}/explode"))["state"] == "failed"  # the preview changed nothing
    marked = _ok(
        op.patch(f"{base}/explode", json={"new_state": "success", "note": "fixed by hand"})
    )
    assert [(t["task_id"], t["state"], t["note"]) for t in marked["task_instances"]] == [
        ("explode", "success", "fixed by hand")
    ]
    failed_run = _ok(op.patch(f"/api/v2/dags/failing/dagRuns/{run_id}", json={"state": "failed"}))
    assert failed_run["dag_run_id"] == run_id
    noted = _ok(op.patch(f"/api/v2/dags/failing/dagRuns/{run_id}", json={"note": "looked at"}))
    assert noted["note"] == "looked at"


def test_a_run_clear_dry_run_lists_without_clearing(fresh: World) -> None:
    op = _op(fresh)
    run_id = fresh.run_ids["failing"]
    preview = _ok(
        op.post(f"/api/v2/dags/failing/dagRuns/{run_id}/clear", json={"only_failed": True})
    )
    assert "explode" in [t["task_id"] for t in preview["task_instances"]]
    assert preview["total_entries"] == len(preview["task_instances"])
    assert _ok(op.get(f"/api/v2/dags/failing/dagRuns/{run_id}"))["state"] == "failed"
    cleared = _ok(
        op.post(
            f"/api/v2/dags/failing/dagRuns/{run_id}/clear",
            json={"only_failed": True, "dry_run": False},
        )
    )
    assert cleared["dag_run_id"] == run_id and cleared["state"] == "queued"


def test_deleting_a_finished_run(fresh: World) -> None:
    op = _op(fresh)
    run_id = fresh.run_ids["failing"]
    assert op.delete(f"/api/v2/dags/failing/dagRuns/{run_id}").status_code == 204
    assert op.get(f"/api/v2/dags/failing/dagRuns/{run_id}").status_code == 404
    listed = _ok(op.get("/api/v2/dags/failing/dagRuns"))
    assert listed["total_entries"] == 0


def test_xcoms_added_changed_and_deleted(fresh: World) -> None:
    op = _op(fresh)
    run_id = fresh.run_ids["failing"]
    base = f"/api/v2/dags/failing/dagRuns/{run_id}/taskInstances/explode/xcomEntries"
    made = _ok(op.post(base, json={"key": "rows", "value": {"n": 3}}), 201)
    assert made["value"] == {"n": 3} and made["map_index"] == -1
    again = op.post(base, json={"key": "rows", "value": 1})
    assert again.status_code == 409
    changed = _ok(op.patch(f"{base}/rows", json={"value": [1, 2]}))
    assert changed["value"] == [1, 2]
    text = _ok(op.get(f"{base}/rows", params={"stringify": True}))
    assert text["value"] == "[1, 2]"
    across = _ok(op.get("/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries"))
    assert ("explode", "rows") in {(e["task_id"], e["key"]) for e in across["xcom_entries"]}
    assert op.delete(f"{base}/rows").status_code == 204
    assert op.get(f"{base}/rows").status_code == 404
    assert op.patch(f"{base}/rows", json={"value": 1}).status_code == 404
    # A lone surrogate is not strict JSON: refused, naming the value.
    not_json = op.post(
        base,
        content=b'{"key": "bad", "value": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert not_json.status_code == 422 and "value" in not_json.text, not_json.text


def test_xcoms_read_and_given_as_on_airflow(fresh: World) -> None:
    """A task's typed value shown as Airflow's route shows it; a value holding the keys of
    a written object refused, as Airflow refuses it (a pull would read it back as an
    object of a class the request named); a key with a slash served."""
    op = _op(fresh)
    run_id = fresh.run_ids["failing"]
    base = f"/api/v2/dags/failing/dagRuns/{run_id}/taskInstances/explode/xcomEntries"
    written = encode({"when": dt.date(2024, 3, 1), "pair": (1, 2), "n": 3})
    with fresh.store.write() as conn:
        run_pk = run_reads.get_run(conn, "failing", run_id).id
        xcom_rows.upsert_xcom(conn, run_pk, "explode", "typed/rows", written, -1)
    assert _ok(op.get(f"{base}/typed/rows"))["value"] == written
    shown = _ok(op.get(f"{base}/typed/rows", params={"deserialize": True}))["value"]
    assert shown == {"when": "datetime.date@version=2(2024-03-01)", "pair": "(1,2)", "n": 3}
    text = _ok(op.get(f"{base}/typed/rows", params={"deserialize": True, "stringify": True}))
    assert text["value"] == str(shown)
    planted = {"__classname__": "airflow.sdk.Asset", "__version__": 1, "__data__": {}}
    for sent in (
        op.post(base, json={"key": "plant", "value": {"rows": [planted]}}),
        op.patch(f"{base}/typed/rows", json={"value": json.dumps(planted)}),
    ):
        assert sent.status_code == 422, sent.text
        assert "reserved serialization keys: __classname__, __data__, __version__" in sent.text
    assert op.get(f"{base}/plant").status_code == 404
    assert _ok(op.get(f"{base}/typed/rows"))["value"] == written  # the refused change kept out


def test_a_mapped_tasks_instances_by_map_index(fresh: World) -> None:
    (fresh.tmp / "dags" / "mapped_v2.py").write_text(textwrap.dedent(MAPPED))
    DagFileProcessor(fresh.store, fresh.tmp / "dags", timeout=30, scan_every=1).sync()
    pk = fresh.trigger("mapped_v2")
    fresh.run(pk)
    run_id = fresh.run_id(pk)
    op = _op(fresh)
    base = f"/api/v2/dags/mapped_v2/dagRuns/{run_id}/taskInstances"
    whole = op.get(f"{base}/each")
    assert whole.status_code == 404 and "map_index" in whole.json()["detail"]
    mapped = _ok(op.get(f"{base}/each/listMapped"))
    assert [(t["map_index"], t["state"]) for t in mapped["task_instances"]] == [
        (0, "success"),
        (1, "failed"),
        (2, "success"),
    ]
    one = _ok(op.get(f"{base}/each/1"))
    assert one["map_index"] == 1 and one["state"] == "failed"
    tries = _ok(op.get(f"{base}/each/1/tries"))
    assert [t["map_index"] for t in tries["task_instances"]] == [1]
    log = _ok(op.get(f"{base}/each/logs/1", params={"map_index": 2, "full_content": True}))
    assert any("instance with x=2" in e["event"] for e in log["content"])
    marked = _ok(op.patch(f"{base}/each/1", json={"new_state": "success"}))
    assert [(t["map_index"], t["state"]) for t in marked["task_instances"]] == [(1, "success")]
    assert _ok(op.get(f"{base}/each/0"))["state"] == "success"
    listed = _ok(op.get(base, params={"task_id": "each", "map_index": [0, 2]}))
    assert [t["map_index"] for t in listed["task_instances"]] == [0, 2]


def test_a_dag_whose_tasks_name_no_owner_is_owned_by_airflow(fresh: World) -> None:
    dag = _ok(_op(fresh).get("/api/v2/dags/failing"))
    assert dag["owners"] == ["airflow"]
