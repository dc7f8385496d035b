"""``DELETE /api/v2/dags/{dag_id}``: a DAG's runs, task instances, tries, XComs and logs
deleted, refused while a run is active, audited, the DAG kept while its file is in the
folder and gone with it otherwise. Each test has its own store (SQLite and PostgreSQL) with
a failed run of ``failing`` executed by the real scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_helpers import PASSWORDS, World, fresh_fixture  # noqa: F401  (fixtures)
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.tables import audit_log, dag_run, task_instance, task_try, xcom


def _as(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def _count(world: World, table: Any, *where: Any) -> int:
    with world.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar())


def _log_paths(world: World) -> list[Path]:
    with world.store.read() as conn:
        return [Path(p) for p in conn.execute(select(task_try.c.log_path)).scalars() if p]


def test_a_dags_history_is_deleted_once_its_runs_have_ended(fresh: World) -> None:
    op, viewer = _as(fresh, "op"), _as(fresh, "viewer")
    logs = _log_paths(fresh)
    assert logs and all(p.exists() for p in logs)
    queued = fresh.run_id(fresh.trigger("failing"))
    refused = op.delete("/api/v2/dags/failing")
    assert refused.status_code == 409 and queued in refused.json()["detail"]
    assert _count(fresh, dag_run, dag_run.c.dag_id == "failing") == 2  # nothing deleted
    _ok(op.patch(f"/api/v2/dags/failing/dagRuns/{queued}", json={"state": "failed"}))
    assert viewer.delete("/api/v2/dags/failing").status_code == 403
    assert _count(fresh, xcom) + _count(fresh, task_instance) > 0
    _ok(op.delete("/api/v2/dags/failing"), 204)
    assert _count(fresh, dag_run, dag_run.c.dag_id == "failing") == 0
    assert _count(fresh, task_instance) == 0 and _count(fresh, task_try) == 0
    assert not any(p.exists() for p in logs)  # the tries' logs went after the commit
    # Its file is in the folder: the DAG stays, with no run.
    assert _ok(op.get("/api/v2/dags/failing"))["dag_id"] == "failing"
    assert _ok(op.get("/api/v2/dags/failing/dagRuns"))["total_entries"] == 0
    with fresh.store.read() as conn:
        entry = conn.execute(
            select(audit_log.c.actor, audit_log.c.details).where(audit_log.c.action == "dag.delete")
        ).one()
    assert entry.actor == "op" and entry.details["runs"] == 2
    assert entry.details["dag_removed"] is False


def test_a_dag_whose_file_is_gone_goes_entirely(fresh: World) -> None:
    admin = _as(fresh, "admin")
    (fresh.tmp / "dags" / "failing.py").unlink()
    DagFileProcessor(fresh.store, fresh.tmp / "dags", timeout=30, scan_every=1).sync()
    assert _ok(admin.get("/api/v2/dags/failing"))["is_stale"] is True
    _ok(admin.delete("/api/v2/dags/failing"), 204)
    assert admin.get("/api/v2/dags/failing").status_code == 404
    assert admin.delete("/api/v2/dags/failing").status_code == 404
    assert admin.delete("/api/v2/dags/no_such_dag").status_code == 404
    assert fresh.client().delete("/api/v2/dags/pipeline").status_code == 401
