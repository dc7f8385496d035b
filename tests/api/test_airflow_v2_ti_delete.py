"""``DELETE /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}``: a task instance of a
finished run goes with its tries, XComs and log files (Airflow's ``null`` answer, its 404
text, an audit entry); one of a run still queued or running is refused (409); and a run
cleared afterwards gets the instance back and runs it, instead of waiting for it forever
(both backends, the real in-process scheduler)."""

from __future__ import annotations

from pathlib import Path

from api_helpers import PASSWORDS, World, fresh_fixture  # noqa: F401  (fixtures)
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.tables import audit_log, dag_run, task_instance, task_try, xcom


def _client(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    return world.token_client(token.json()["access_token"])


def _rows(world: World, run_id: str, task_id: str) -> tuple[int, int, int, list[str]]:
    """The run's instances of ``task_id``, their tries and XComs, and the tries' log files."""
    with world.store.read() as conn:
        run_pk = conn.execute(select(dag_run.c.id).where(dag_run.c.run_id == run_id)).scalar()
        tis = select(task_instance.c.id).where(
            task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id
        )
        count = func.count()
        instances = conn.execute(select(count).select_from(tis.subquery())).scalar_one()
        tries = conn.execute(
            select(count).select_from(task_try).where(task_try.c.ti_id.in_(tis))
        ).scalar_one()
        xcoms = conn.execute(
            select(count)
            .select_from(xcom)
            .where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id)
        ).scalar_one()
        logs = conn.execute(select(task_try.c.log_path).where(task_try.c.ti_id.in_(tis)))
        return instances, tries, xcoms, [p for p in logs.scalars() if p]


def test_deleting_a_task_instance_of_a_finished_run(fresh: World) -> None:
    op, run_id = _client(fresh, "op"), fresh.run_ids["failing"]
    base = f"/api/v2/dags/failing/dagRuns/{run_id}/taskInstances"
    instances, tries, _xcoms, logs = _rows(fresh, run_id, "explode")
    assert (instances, tries) == (1, 1) and logs and all(Path(p).is_file() for p in logs)

    answer = op.delete(f"{base}/explode")
    assert answer.status_code == 200, answer.text
    assert answer.json() is None
    assert _rows(fresh, run_id, "explode") == (0, 0, 0, [])
    assert not any(Path(p).exists() for p in logs)  # its log files went after the commit
    assert _rows(fresh, run_id, "after")[0] == 1  # the other instance stays
    gone = op.get(f"{base}/explode")
    assert gone.status_code == 404
    with fresh.store.read() as conn:
        entries = conn.execute(
            select(audit_log.c.action, audit_log.c.target, audit_log.c.dag_id).where(
                audit_log.c.action == "task.delete"
            )
        ).all()
    assert [tuple(e) for e in entries] == [("task.delete", f"failing/{run_id}/explode", "failing")]

    again = op.delete(f"{base}/explode")
    assert again.status_code == 404
    assert again.json()["detail"] == (
        f"The Task Instance with dag_id: `failing`, run_id: `{run_id}`, task_id: `explode` "
        "and map_index: `-1` was not found"
    )
    no_run = op.delete("/api/v2/dags/failing/dagRuns/nope/taskInstances/after?map_index=3")
    assert no_run.status_code == 404
    assert (
        "run_id: `nope`, task_id: `after` and map_index: `3` was not found"
        in (no_run.json()["detail"])
    )


def test_a_viewer_may_not_delete_and_a_bad_map_index_is_named(fresh: World) -> None:
    run_id = fresh.run_ids["failing"]
    url = f"/api/v2/dags/failing/dagRuns/{run_id}/taskInstances/after"
    assert _client(fresh, "viewer").delete(url).status_code == 403
    bad = _client(fresh, "op").delete(url + "?map_index=-2")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "map_index"]
    assert _rows(fresh, run_id, "after")[0] == 1


def test_an_instance_of_a_run_not_finished_is_not_deleted(fresh: World) -> None:
    op = _client(fresh, "op")
    queued = fresh.run_id(fresh.trigger("failing"))
    answer = op.delete(f"/api/v2/dags/failing/dagRuns/{queued}/taskInstances/explode")
    assert answer.status_code == 409
    assert (
        "is queued: a task instance can only be deleted once its run has finished"
        in (answer.json()["detail"])
    )
    assert _rows(fresh, queued, "explode")[0] == 1


def test_a_cleared_run_gets_its_deleted_instance_back_and_runs_it(fresh: World) -> None:
    op, run_id = _client(fresh, "op"), fresh.run_ids["failing"]
    base = f"/api/v2/dags/failing/dagRuns/{run_id}"
    assert op.delete(f"{base}/taskInstances/explode").status_code == 200
    (fresh.tmp / "fixed").touch()  # the task succeeds from now on
    cleared = op.post(f"{base}/clear", json={"dry_run": False})
    assert cleared.status_code == 200, cleared.text
    with fresh.store.read() as conn:
        run_pk = conn.execute(select(dag_run.c.id).where(dag_run.c.run_id == run_id)).scalar()
    assert _rows(fresh, run_id, "explode")[:2] == (1, 0)  # back, not started yet
    fresh.run(run_pk)
    assert op.get(base).json()["state"] == "success"
    ran = op.get(f"{base}/taskInstances/explode").json()
    assert (ran["state"], ran["try_number"]) == ("success", 1)


MAPPED = """
from airflow.sdk import DAG, task

with DAG("mapped_delete", schedule=None):

    @task
    def each(x):
        return x * 10

    @task
    def total(values):
        return sum(values)

    total(each.expand(x=[0, 1, 2]))
"""


def test_one_instance_of_a_mapped_task_goes_and_the_cleared_run_still_ends(fresh: World) -> None:
    (fresh.tmp / "dags" / "mapped_delete.py").write_text(MAPPED)
    DagFileProcessor(fresh.store, fresh.tmp / "dags", timeout=30, scan_every=1).sync()
    run_pk = fresh.trigger("mapped_delete")
    fresh.run(run_pk)
    op, run_id = _client(fresh, "op"), fresh.run_id(run_pk)
    base = f"/api/v2/dags/mapped_delete/dagRuns/{run_id}"
    assert op.delete(f"{base}/taskInstances/each").status_code == 404  # mapped: say which
    gone = op.delete(f"{base}/taskInstances/each", params={"map_index": 1})
    assert gone.status_code == 200, gone.text
    left = op.get(f"{base}/taskInstances/each/listMapped").json()["task_instances"]
    assert [t["map_index"] for t in left] == [0, 2]
    assert op.post(f"{base}/clear", json={"dry_run": False}).status_code == 200
    fresh.run(run_pk)  # ends, rather than waiting for the deleted instance
    assert op.get(base).json()["state"] == "success"
