"""A real Conveyor behind the web app: parsed DAG files, executed runs, three users.

``world`` is built once per module and backend (SQLite, PostgreSQL): DAGs parsed into the
store by the real file processor, runs executed by the real scheduler and local executor,
so task instances, tries, logs and XCom are what a user would see. Tests that change
things (trigger, clear, mark, pause) build their own with ``make_world``.
"""

from __future__ import annotations

import itertools
import os
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import _with_database, make_settings, run_until_finished
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from conveyor.web import accounts
from conveyor.web.app import create_app

PREFIX = "/conveyor"
PASSWORDS = {"admin": "admin-secret-1", "op": "op-secret-12", "viewer": "viewer-secret"}

PIPELINE = """
from conveyor import DAG, BashOperator, task

with DAG(
    "pipeline",
    params={"n": 3, "label": "x", "ratio": 0.5},
    tags=["api", "numbers"],
    description="counts things",
):
    @task(owner="data-team")
    def extract():
        print("extracting")
        return {"rows": 42}

    @task
    def load(data):
        print("loading", data)
        return data["rows"]

    talk = BashOperator(
        task_id="talk",
        bash_command="for i in $(seq 1 300); do echo line $i; done; echo n={{ params.n }}",
    )
    load(extract()) >> talk
"""

FAILING = """
from pathlib import Path

from conveyor import DAG, task

with DAG("failing"):
    @task
    def explode():
        print("about to fail")
        if not Path("@TMP@/fixed").exists():  # a test "fixes the data" by creating it
            raise ValueError("column 'amount' is missing")
        return "fixed"

    @task
    def after(x):
        return x

    after(explode())
"""

BROKEN = "from conveyor import DAG\n\nwith DAG('broken'):\n    this is not python\n"


@dataclass
class World:
    tmp: Path
    settings: Settings
    store: Store
    app: FastAPI
    run_ids: dict[str, str] = field(default_factory=dict)  # dag id -> its first run's id
    clients: list[TestClient] = field(default_factory=list)

    def client(self, role: str | None = None, *, prefix: str = PREFIX) -> TestClient:
        """A browser-like client, logged in as the user named after ``role`` (None: nobody)."""
        client = TestClient(self.app, base_url=f"http://testserver{prefix}")
        self.clients.append(client)
        if role is not None:
            login(client, role, PASSWORDS[role])
        return client

    def token_client(self, token: str) -> TestClient:
        client = TestClient(
            self.app,
            base_url=f"http://testserver{PREFIX}",
            headers={"Authorization": f"Bearer {token}"},
        )
        self.clients.append(client)
        return client

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> int:
        with self.store.write() as conn:
            run_pk = runs.create_manual_run(conn, dag_id, conf=conf, created_by="test")
        assert run_pk is not None
        return run_pk

    def run(self, *run_pks: int) -> None:
        run_until_finished(self.settings, self.store, list(run_pks), limit=60)

    def run_id(self, run_pk: int) -> str:
        with self.store.read() as conn:
            return str(
                conn.execute(select(dag_run.c.run_id).where(dag_run.c.id == run_pk)).scalar()
            )


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str) -> None:
    form = client.get("/login")
    assert form.status_code == 200, form.text
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    # What the UI's JavaScript does: send the session's CSRF token on every write.
    client.headers["X-CSRF-Token"] = me.json()["csrf_token"]


def make_world(
    tmp: Path,
    url: str,
    *,
    base_url: str = PREFIX,
    execute: tuple[str, ...] = ("pipeline", "failing"),
) -> World:
    dags = tmp / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (dags / "failing.py").write_text(textwrap.dedent(FAILING).replace("@TMP@", str(tmp)))
    (dags / "broken.py").write_text(BROKEN)
    settings = make_settings(tmp, dags, url, base_url=base_url)
    store = Store(url)
    DagFileProcessor(store, dags, timeout=30, scan_every=1).sync()
    for role, password in PASSWORDS.items():
        accounts.create_user(store, role, role, password)
    world = World(tmp, settings, store, create_app(settings, Store(url)))
    if execute:
        pks = {dag_id: world.trigger(dag_id) for dag_id in execute}
        world.run(*pks.values())
        world.run_ids = {dag_id: world.run_id(pk) for dag_id, pk in pks.items()}
    return world


def close(world: World) -> None:
    for client in world.clients:
        client.close()
    world.app.state.store.dispose()
    world.store.dispose()


_numbers = itertools.count(1)


@pytest.fixture(
    name="world",
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def world_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Executed runs of ``pipeline`` (success) and ``failing`` (failed), read-only for tests."""
    tmp = tmp_path_factory.mktemp("world")
    if request.param == "postgres":
        pg_url = request.getfixturevalue("pg_url")
        admin: psycopg.Connection[Any] = request.getfixturevalue("pg_admin")
        template = request.getfixturevalue("pg_template")
        name = f"conveyor_api_{os.getpid()}_{next(_numbers)}"
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        url = _with_database(pg_url, name)
    else:
        url = f"sqlite:///{tmp / 'conveyor.db'}"
        schema.migrate(Store(url))
    built = make_world(tmp, url)
    yield built
    close(built)
    if request.param == "postgres":
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(name="fresh")
def fresh_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    """A world of this test's own (both backends), with a failed run of ``failing``."""
    built = make_world(tmp_path, store_url, execute=("failing",))
    yield built
    close(built)
