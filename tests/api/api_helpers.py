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
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
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
from conveyor.store.engine import Connection, Store
from conveyor.store.tables import callback_request, dag_run, task_event, task_try
from conveyor.web import accounts
from conveyor.web.app import create_app

PREFIX = "/conveyor"
CONVEYOR = str(Path(sys.executable).parent / "conveyor")
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


def leak_places(conn: Connection, ti_id: int) -> tuple[str | None, list[Any], list[Any]]:
    """Where a failed try's secrets could leak to: its error, its timeline's (message,
    detail) rows, and every callback request's error."""
    error = conn.execute(select(task_try.c.error).where(task_try.c.ti_id == ti_id)).scalar()
    events = conn.execute(
        select(task_event.c.message, task_event.c.detail).where(task_event.c.ti_id == ti_id)
    ).all()
    callback_errors = conn.execute(select(callback_request.c.error)).scalars().all()
    return error, list(events), list(callback_errors)


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


def module_world(name: str, build: Callable[[Path, str], World]) -> Any:
    """A module-scoped fixture called ``name`` (``world = module_world(...)``), once per
    backend: ``build(tmp, url)`` on a migrated store, a SQLite file under ``tmp`` or a
    PostgreSQL database cloned from the template and dropped after."""

    @pytest.fixture(
        name=name,
        scope="module",
        params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    )
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[World]:
        tmp = tmp_path_factory.mktemp(name)
        if request.param == "postgres":
            pg_url = request.getfixturevalue("pg_url")
            admin: psycopg.Connection[Any] = request.getfixturevalue("pg_admin")
            template = request.getfixturevalue("pg_template")
            database = f"conveyor_api_{os.getpid()}_{next(_numbers)}"
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {database} TEMPLATE {template}")
            url = _with_database(pg_url, database)
        else:
            url = f"sqlite:///{tmp / 'conveyor.db'}"
            migrated = Store(url)
            schema.migrate(migrated)
            migrated.dispose()  # its pooled connection closed, not left to the collector
        built = build(tmp, url)
        yield built
        close(built)
        if request.param == "postgres":
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    return fixture


#: Executed runs of ``pipeline`` (success) and ``failing`` (failed), read-only for tests.
world_fixture = module_world("world", make_world)


def world_fixture_of(dags: dict[str, str]) -> Any:
    """A module's ``world`` fixture (``world = world_fixture_of({...})``): for each test a
    world of its own (both backends) that executed nothing, with these DAG files (name:
    source) parsed beside the usual ones."""

    @pytest.fixture(name="world")
    def world(tmp_path: Path, store_url: str) -> Iterator[World]:
        built = make_world(tmp_path, store_url, execute=())
        for name, source in dags.items():
            (tmp_path / "dags" / name).write_text(source)
        DagFileProcessor(built.store, tmp_path / "dags", timeout=30, scan_every=1).sync()
        yield built
        close(built)

    return world


@dataclass
class Result:
    exit_code: int
    output: str  # stdout and stderr


def run_cli(world: World, *args: str, **env: str) -> Result:
    """``conveyor ARGS`` as a user runs it, on the world's store and DAG folder."""
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(world.tmp / "cli-home"),
        "CONVEYOR_DATABASE_URL": world.store.url,
        "CONVEYOR_DAGS_FOLDER": str(world.settings.dags_path),
        **env,
    }
    done = subprocess.run(
        [CONVEYOR, *args], env=environ, capture_output=True, text=True, timeout=90
    )
    return Result(done.returncode, done.stdout + done.stderr)


@pytest.fixture(name="fresh")
def fresh_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    """A world of this test's own (both backends), with a failed run of ``failing``."""
    built = make_world(tmp_path, store_url, execute=("failing",))
    yield built
    close(built)
