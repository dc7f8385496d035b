"""A world for the routes that change many runs or task instances at once.

``grouped`` fails in a task group: ``work.a`` fails, ``work.inner.b`` succeeds and ``end``
(below the group) ends upstream_failed, so its runs end failed. Gina holds ``team_g``,
which may edit ``grouped`` but only read ``sealed``. Tests trigger and run their own runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_helpers import PASSWORDS, World, make_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.tables import dag_run
from conveyor.web import accounts, roles

GINA = ("gina", "gina-secret-123")

GROUPED = """
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.task_group import TaskGroup

with DAG("grouped", schedule=None, access_control={"team_g": {"can_read", "can_edit"}}):
    start = BashOperator(task_id="start", bash_command="echo start")
    with TaskGroup("work") as work:
        BashOperator(task_id="a", bash_command="echo a fails; exit 1")
        with TaskGroup("inner"):
            BashOperator(task_id="b", bash_command="echo b")
    end = BashOperator(task_id="end", bash_command="echo end")
    start >> work >> end
"""

SEALED = """
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("sealed", schedule=None, access_control={"team_g": {"can_read"}}):
    BashOperator(task_id="only", bash_command="exit 1")
"""


def build(tmp: Path, url: str) -> World:
    world = make_world(tmp, url, execute=())
    roles.create_role(world.store, "team_g")
    accounts.create_user(world.store, GINA[0], "public", GINA[1])
    accounts.set_roles(world.store, GINA[0], ["team_g"])
    (tmp / "dags" / "grouped.py").write_text(GROUPED)
    (tmp / "dags" / "sealed.py").write_text(SEALED)
    DagFileProcessor(world.store, tmp / "dags", timeout=30, scan_every=1).sync()
    return world


def api_client(world: World, username: str, password: str | None = None) -> TestClient:
    """A client of /api/v2 with a JWT of ``username``."""
    secret = password or PASSWORDS[username]
    answer = world.client().post("/auth/token", json={"username": username, "password": secret})
    assert answer.status_code in (200, 201), answer.text
    return world.token_client(answer.json()["access_token"])


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def failed_run(world: World, dag_id: str = "grouped") -> str:
    """A finished, failed run of ``dag_id``: its run id."""
    run_pk = world.trigger(dag_id)
    world.run(run_pk)
    return world.run_id(run_pk)


def run_pk(world: World, run_id: str) -> int:
    with world.store.read() as conn:
        found = conn.execute(select(dag_run.c.id).where(dag_run.c.run_id == run_id)).scalar()
    assert isinstance(found, int)
    return found


def states(client: TestClient, run_id: str, dag_id: str = "grouped") -> dict[str, Any]:
    found = ok(client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"))
    return {t["task_id"]: t["state"] for t in found["task_instances"]}


def notes(client: TestClient, run_id: str, dag_id: str = "grouped") -> dict[str, Any]:
    found = ok(client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"))
    return {t["task_id"]: t["note"] for t in found["task_instances"]}


def run_state(client: TestClient, run_id: str, dag_id: str = "grouped") -> str:
    return str(ok(client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))["state"])
