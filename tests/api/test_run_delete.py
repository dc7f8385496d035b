"""Deleting a run: ``DELETE /api/v1/dags/{dag}/runs/{run}`` (op) and ``conveyor runs delete``
remove a finished run with its task instances, tries, timeline, XComs, logs, callback
requests, scheduler problems and plan requests, leave every other run alone, and refuse a
queued or running run (409) (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, make_world
from api_helpers import close as close_world
from sqlalchemy import Table, func, insert, select, update

from conveyor.clock import utcnow
from conveyor.store.tables import (
    callback_request,
    dag_run,
    run_plan_request,
    scheduler_problem,
    task_event,
    task_instance,
    task_try,
    xcom,
)

CONVEYOR = str(Path(sys.executable).parent / "conveyor")


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    first, second = built.trigger("pipeline"), built.trigger("pipeline")
    built.run(first, second)
    built.run_ids = {"first": built.run_id(first), "second": built.run_id(second)}
    yield built
    close_world(built)


def _pk(world: World, run_id: str) -> int | None:
    with world.store.read() as conn:
        found = conn.execute(select(dag_run.c.id).where(dag_run.c.run_id == run_id))
        return found.scalar()


def _belongings(world: World, run_pk: int) -> dict[str, int]:
    """How many rows of each table belong to the run."""
    tis = select(task_instance.c.id).where(task_instance.c.run_pk == run_pk)
    where: dict[str, tuple[Table, object]] = {
        "runs": (dag_run, dag_run.c.id == run_pk),
        "task_instances": (task_instance, task_instance.c.run_pk == run_pk),
        "tries": (task_try, task_try.c.ti_id.in_(tis)),
        "events": (task_event, task_event.c.ti_id.in_(tis)),
        "xcoms": (xcom, xcom.c.run_pk == run_pk),
        "callback_requests": (callback_request, callback_request.c.run_pk == run_pk),
        "scheduler_problems": (scheduler_problem, scheduler_problem.c.run_pk == run_pk),
        "plan_requests": (run_plan_request, run_plan_request.c.run_pk == run_pk),
    }
    with world.store.read() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table).where(clause)).scalar_one()
            for name, (table, clause) in where.items()
        }


def _log_files(world: World, run_pk: int) -> list[Path]:
    with world.store.read() as conn:
        paths = conn.execute(
            select(task_try.c.log_path)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.run_pk == run_pk)
        ).scalars()
        return [Path(p) for p in paths if p]


def _add_side_rows(world: World, run_pk: int) -> None:
    """What else may point at a run: a callback request, a scheduler problem, a plan request;
    and a conf stored before strict JSON."""
    now = utcnow()
    with world.store.write() as conn:
        conn.execute(
            insert(callback_request).values(
                run_pk=run_pk, kind="success", task_id="", state="done", created_at=now
            )
        )
        conn.execute(
            insert(scheduler_problem).values(
                unit=f"advance_run:{run_pk}",
                scheduler_id="s1",
                action="advance_run",
                dag_id="pipeline",
                run_pk=run_pk,
                error="boom",
                first_seen=now,
                last_seen=now,
                occurrences=1,
            )
        )
        conn.execute(insert(run_plan_request).values(run_pk=run_pk, requested_at=now))
        conn.execute(update(dag_run).where(dag_run.c.id == run_pk).values(conf={"s": "\ud800"}))


def test_an_op_deletes_a_finished_run_with_everything_that_belongs_to_it(world: World) -> None:
    doomed, kept = world.run_ids["first"], world.run_ids["second"]
    doomed_pk, kept_pk = _pk(world, doomed), _pk(world, kept)
    assert doomed_pk is not None and kept_pk is not None
    _add_side_rows(world, doomed_pk)
    logs = _log_files(world, doomed_pk)
    assert len(logs) == 3 and all(p.is_file() for p in logs)
    before_kept = _belongings(world, kept_pk)
    before = _belongings(world, doomed_pk)
    assert before["xcoms"] > 0 and before["events"] > 0

    answer = world.client("op").delete(f"/api/v1/dags/pipeline/runs/{doomed}")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "dag_id": "pipeline",
        "run_id": doomed,
        "deleted": {
            "runs": 1,
            "task_instances": 3,
            "tries": 3,
            "events": before["events"],  # each try's timeline: how many varies with timing
            "xcoms": before["xcoms"],
        },
    }
    assert set(_belongings(world, doomed_pk).values()) == {0}
    assert not any(p.exists() for p in logs)
    assert _belongings(world, kept_pk) == before_kept
    assert all(p.is_file() for p in _log_files(world, kept_pk))
    viewer = world.client("viewer")
    assert viewer.get(f"/api/v1/dags/pipeline/runs/{doomed}").status_code == 404
    assert [r["run_id"] for r in viewer.get("/api/v1/runs").json()["runs"]] == [kept]
    again = world.client("op").delete(f"/api/v1/dags/pipeline/runs/{doomed}")
    assert again.status_code == 404, again.text


def test_deleting_needs_the_op_role_and_the_csrf_token(world: World) -> None:
    run_id = world.run_ids["first"]
    viewer = world.client("viewer").delete(f"/api/v1/dags/pipeline/runs/{run_id}")
    assert viewer.status_code == 403, viewer.text
    op = world.client("op")
    del op.headers["X-CSRF-Token"]
    assert op.delete(f"/api/v1/dags/pipeline/runs/{run_id}").status_code == 403
    assert _pk(world, run_id) is not None


def test_a_queued_run_is_not_deleted(world: World) -> None:
    queued = world.run_id(world.trigger("pipeline"))
    answer = world.client("op").delete(f"/api/v1/dags/pipeline/runs/{queued}")
    assert answer.status_code == 409, answer.text
    assert "is queued: only a finished run can be deleted" in answer.json()["detail"]
    assert _pk(world, queued) is not None


def _cli(world: World, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(world.tmp / "cli-home"),
        "CONVEYOR_DATABASE_URL": world.store.url,
        "CONVEYOR_DAGS_FOLDER": str(world.settings.dags_path),
        "CONVEYOR_LOG_FOLDER": str(world.settings.logs_path),
    }
    return subprocess.run(
        [CONVEYOR, *args], env=environ, input=stdin, capture_output=True, text=True, timeout=90
    )


def test_conveyor_runs_delete_asks_first_and_deletes_with_yes(world: World) -> None:
    run_id = world.run_ids["first"]
    run_pk = _pk(world, run_id)
    assert run_pk is not None
    logs = _log_files(world, run_pk)

    declined = _cli(world, "runs", "delete", "pipeline", run_id, stdin="n\n")
    assert declined.returncode == 1, declined.stdout + declined.stderr
    assert "Aborted" in declined.stderr
    assert _pk(world, run_id) == run_pk

    done = _cli(world, "runs", "delete", "pipeline", run_id, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"deleted run {run_id} of pipeline: 3 task instances, 3 tries" in done.stdout
    assert "3 log files" in done.stdout
    assert set(_belongings(world, run_pk).values()) == {0}
    assert not any(p.exists() for p in logs)

    queued = world.run_id(world.trigger("pipeline"))
    refused = _cli(world, "runs", "delete", "pipeline", queued, "--yes")
    assert refused.returncode == 1
    assert "is queued: only a finished run can be deleted" in refused.stderr
    missing = _cli(world, "runs", "delete", "pipeline", "nope", "--yes")
    assert missing.returncode == 1
    assert "DAG 'pipeline' has no run 'nope'" in missing.stderr
