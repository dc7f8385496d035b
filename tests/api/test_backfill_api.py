"""Backfill over the API (what the DAG page's form posts): the schedule's runs over a range
are created with the conf given, dates with a run are kept or run again as asked, the
action is in the audit log; bad dates, ranges, conf and roles are refused with a reason and
leave nothing behind. Both stores."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, close, make_world
from sqlalchemy import select

from conveyor.store.tables import dag_run

NIGHTLY = textwrap.dedent(
    """
    from datetime import datetime

    from conveyor import DAG, BashOperator, Param

    with DAG(
        "nightly",
        schedule="@daily",
        start_date=datetime(2024, 1, 1),
        catchup=False,
        params={"size": Param(1, type="integer")},
    ):
        # The night of 2025-01-02 fails: the data of that day is bad.
        BashOperator(task_id="load", bash_command="test '{{ ds }}' != 2025-01-02")
    """
)
HOURLY = NIGHTLY.replace('"nightly"', '"hourly"').replace('"@daily"', '"@hourly"')
BACKFILLS = "/api/v1/dags/nightly/backfills"


@pytest.fixture(name="nightly")
def nightly_world(tmp_path: Path, store_url: str) -> Iterator[World]:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "nightly.py").write_text(NIGHTLY)
    (tmp_path / "dags" / "hourly.py").write_text(HOURLY)
    built = make_world(tmp_path, store_url, execute=())
    yield built
    close(built)


def _runs(world: World, dag_id: str = "nightly") -> dict[str, Any]:
    """The DAG's backfill runs (running the scheduler makes its own scheduled run too)."""
    with world.store.read() as conn:
        rows = conn.execute(
            select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.run_type == "backfill")
        )
        return {r.run_id: r for r in rows}


def _audited(world: World) -> list[dict[str, Any]]:
    answer = world.client("admin").get("/api/v1/audit", params={"action": "dag.backfill"})
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def test_backfill_creates_keeps_and_reruns_and_is_audited(nightly: World) -> None:
    op = nightly.client("op")
    made = op.post(
        BACKFILLS, json={"start": "2025-01-01", "end": "2025-01-03", "conf": {"size": 2}}
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["created"], body["cleared"], body["kept"]) == (3, 0, 0)
    wanted = [f"backfill__2025-01-0{day}T00:00:00+00:00" for day in (1, 2, 3)]
    assert [r["run_id"] for r in body["runs"]] == wanted
    stored = _runs(nightly)
    assert sorted(stored) == wanted
    current = op.get("/api/v1/dags/nightly").json()["version_hash"]
    for run in stored.values():
        assert run.run_type == "backfill" and run.conf == {"size": 2}
        assert run.version_hash == current

    # The same range again: every date has its run, nothing is made twice.
    again = op.post(BACKFILLS, json={"start": "2025-01-01", "end": "2025-01-03"}).json()
    assert (again["created"], again["kept"]) == (0, 3)
    assert len(_runs(nightly)) == 3

    nightly.run(*(r.id for r in stored.values()))
    states = {run_id: r.state for run_id, r in _runs(nightly).items()}
    assert states == {wanted[0]: "success", wanted[1]: "failed", wanted[2]: "success"}

    # "Run even if a run exists", for the failed ones: the failed night runs again.
    rerun = nightly.client("admin").post(
        BACKFILLS,
        json={"start": "2025-01-01T00:00:00+00:00", "end": "2025-01-03", "reprocess": "failed"},
    )
    assert rerun.status_code == 201, rerun.text
    actions = {r["run_id"]: r["action"] for r in rerun.json()["runs"]}
    assert actions == {wanted[0]: "kept", wanted[1]: "cleared", wanted[2]: "kept"}
    assert _runs(nightly)[wanted[1]].state in ("queued", "running")

    entries = _audited(nightly)
    assert [e["actor"] for e in entries] == ["admin", "op", "op"]  # newest first
    first = entries[-1]
    assert first["dag_id"] == "nightly" and first["target"] == "nightly"
    assert first["details"]["start"] == "2025-01-01" and first["details"]["created"] == 3
    assert entries[0]["details"]["cleared"] == 1


def test_bad_backfills_are_refused_with_a_reason_and_leave_nothing(nightly: World) -> None:
    op = nightly.client("op")
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (BACKFILLS, {"start": "2025-02-30", "end": "2025-03-01"}, 422, "start: '2025-02-30'"),
        (BACKFILLS, {"start": "2025-01-01", "end": "tomorrow"}, 422, "end: 'tomorrow' is not"),
        (BACKFILLS, {"start": "2025-01-05", "end": "2025-01-01"}, 422, "is before start"),
        (BACKFILLS, {"start": "2025-01-01T05:00", "end": "2025-01-01T06:00"}, 422, "has no run"),
        (
            BACKFILLS,
            {"start": "2025-01-01", "end": "2025-01-02", "conf": {"size": "big"}},
            422,
            "size",
        ),
        (
            BACKFILLS,
            {"start": "2025-01-01", "end": "2025-01-02", "reprocess": "some"},
            422,
            "reprocess",
        ),
        (BACKFILLS, {"start": "2025-01-01", "end": "2025-01-02", "extra": 1}, 422, "extra"),
        (BACKFILLS, {"start": "", "end": "2025-01-02"}, 422, "start"),
        (
            "/api/v1/dags/hourly/backfills",
            {"start": "2024-01-01", "end": "2025-01-01"},
            422,
            "at most 1000",
        ),
        (
            "/api/v1/dags/pipeline/backfills",
            {"start": "2025-01-01", "end": "2025-01-02"},
            422,
            "no schedule to backfill",
        ),
        (
            "/api/v1/dags/nope/backfills",
            {"start": "2025-01-01", "end": "2025-01-02"},
            404,
            "no DAG 'nope'",
        ),
    ]
    for path, body, status, reason in cases:
        answer = op.post(path, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert reason in str(answer.json()["detail"]), (body, answer.text)
    viewer = nightly.client("viewer")
    refused = viewer.post(BACKFILLS, json={"start": "2025-01-01", "end": "2025-01-02"})
    assert refused.status_code == 403, refused.text
    assert nightly.client().post(BACKFILLS, json={}).status_code in (401, 403)
    assert _runs(nightly) == {} and _runs(nightly, "hourly") == {}
    assert _audited(nightly) == []


def test_a_dags_backfills_are_listed_paused_unpaused_and_cancelled(nightly: World) -> None:
    op, viewer = nightly.client("op"), nightly.client("viewer")
    made = op.post(
        BACKFILLS, json={"start": "2025-01-01", "end": "2025-01-04", "max_active_runs": 2}
    )
    assert made.status_code == 201, made.text
    backfill_id = made.json()["id"]
    listed = viewer.get(BACKFILLS).json()["backfills"]
    assert [(b["id"], b["max_active_runs"], b["is_paused"], b["runs"]) for b in listed] == [
        (backfill_id, 2, False, {"queued": 4})
    ]
    assert listed[0]["triggering_user_name"] == "op" and listed[0]["completed_at"] is None
    one = f"{BACKFILLS}/{backfill_id}"
    assert viewer.post(f"{one}/pause").status_code == 403  # a viewer reads, never acts
    assert op.post(f"{one}/pause").json()["is_paused"] is True
    assert op.post(f"{one}/unpause").json()["is_paused"] is False
    other = op.post(f"/api/v1/dags/hourly/backfills/{backfill_id}/pause")
    assert other.status_code == 404  # another DAG's path does not reach it
    cancelled = op.post(f"{one}/cancel").json()
    assert cancelled["completed_at"] is not None and cancelled["runs"] == {"failed": 4}
    late = op.post(f"{one}/pause")
    assert late.status_code == 409 and "already completed" in late.json()["detail"]
    answer = nightly.client("admin").get("/api/v1/audit", params={"dag_id": "nightly"})
    actions = [e["action"] for e in answer.json()["entries"]]
    assert actions[:3] == ["backfill.cancel", "backfill.unpause", "backfill.pause"]
