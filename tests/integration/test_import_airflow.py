"""`conveyor db import-airflow` against metadata databases real Airflow releases made.

tests/fixtures/airflow_dbs holds them (scripts/make-airflow-fixture-dbs made them with
Airflow's CLI and models) and facts.json, what they hold. Each test imports one into a fresh
store (SQLite and PostgreSQL) in which Conveyor parsed the same DAG file, at the moment
facts.json names: the switch, a few days after Airflow's last runs.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.api_helpers import login
from conftest import _with_database, make_settings
from conveyor.airflow_import.apply import apply_plan, plan_import
from conveyor.clock import frozen_at
from conveyor.config import Settings
from conveyor.connections import repository
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import roles as role_rows
from conveyor.store import users as user_rows
from conveyor.store.airflow_import.revisions import UnknownAirflowSchema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, pool, task_instance, task_try, web_user
from conveyor.web.app import create_app

FIXTURES = Path(__file__).parent.parent / "fixtures" / "airflow_dbs"
FACTS: dict[str, Any] = json.loads((FIXTURES / "facts.json").read_text())
SWITCH = datetime.fromisoformat(FACTS["switch_at"])
SINCE = datetime(2025, 1, 1, tzinfo=UTC)
DATABASES = [
    *sorted(p.name for p in FIXTURES.glob("airflow-*.db.gz")),
    *(
        pytest.param(p.name, marks=pytest.mark.postgres)
        for p in sorted(FIXTURES.glob("airflow-*.pg.sql.gz"))
    ),
]
_restored = itertools.count(1)


@pytest.fixture(params=DATABASES)
def airflow_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A copy of one kept Airflow database: a SQLite file, or a PostgreSQL dump restored into
    a database of its own (the import opens either read-only anyway)."""
    name: str = request.param
    if name.endswith(".pg.sql.gz"):
        yield from _restored_dump(request, name)
        return
    target = tmp_path / name.removesuffix(".gz")
    with gzip.open(FIXTURES / name) as src, target.open("wb") as out:
        shutil.copyfileobj(src, out)
    yield f"sqlite:///{target}"


def _restored_dump(request: pytest.FixtureRequest, name: str) -> Iterator[str]:
    pg_url: str = request.getfixturevalue("pg_url")
    admin = request.getfixturevalue("pg_admin")
    database = f"airflow_src_{os.getpid()}_{next(_restored)}"
    admin.execute(f"CREATE DATABASE {database}")
    url = _with_database(pg_url, database)
    try:
        restore = subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
            input=gzip.decompress((FIXTURES / name).read_bytes()),
            capture_output=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr.decode()
        yield url
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture
def settings(tmp_path: Path, store: Store) -> Settings:
    return make_settings(tmp_path, FIXTURES / "dags", store.url)


@pytest.fixture
def parsed(settings: Settings, store: Store) -> Iterator[Store]:
    """The store with the DAG file parsed, as `conveyor dags reserialize` leaves it, at the
    switch (the clock frozen there for the whole test)."""
    with frozen_at(SWITCH):
        DagFileProcessor(store, settings.dags_path, timeout=30, scan_every=1).sync()
        yield store


def do_import(store: Store, settings: Settings, url: str) -> Any:
    plan = plan_import(store, url, FACTS["fernet_key"], SINCE, now=SWITCH)
    apply_plan(store, settings, plan)
    return plan


def run_key(run: Any) -> str:
    """How facts.json names a run: its DAG, run type and logical date."""
    return f"{run.dag_id}/{run.run_type}/{run.logical_date.isoformat()}"


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (dag_run, task_instance, task_try, pool, web_user)
        }


def test_every_fact_of_the_airflow_database_is_imported(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    plan = do_import(parsed, settings, airflow_url)
    store = parsed
    for conn_id, expected in FACTS["connections"].items():
        found = repository.get_connection(store, settings, conn_id)
        for name, value in expected.items():
            assert getattr(found, name) == value, (conn_id, name)
    for key, value in FACTS["variables"].items():
        assert repository.get_variable(store, settings, key) == value
    assert repository.get_variable(store, settings, "lost_secret") is None
    for item in FACTS["undecryptable"]:
        assert any(item in p and "does not decrypt" in p for p in plan.problems), plan.problems
    assert any(FACTS["not_expressible"][0] in p for p in plan.problems), plan.problems
    with store.read() as conn:
        slots = {r.name: r.slots for r in conn.execute(select(pool.c.name, pool.c.slots))}
        assert {k: slots[k] for k in FACTS["pools"]} == FACTS["pools"]
        for username, expected in FACTS["users"].items():
            row = user_rows.get_user(conn, username)
            assert row is not None and row.role == expected["role"], username
            assert sorted(user_rows.named_roles(conn, username)) == expected["named"]
        for name, permissions in FACTS["roles"].items():
            found_role = role_rows.get_role(conn, name)
            assert found_role is not None
            assert sorted(map(list, found_role.permissions)) == permissions
        paused = {
            r.dag_id: r.is_paused for r in conn.execute(select(dag.c.dag_id, dag.c.is_paused))
        }
        assert paused == FACTS["paused"]
        runs = {run_key(r): r for r in conn.execute(select(dag_run))}
        assert set(runs) == set(FACTS["runs"])
        for key, expected in FACTS["runs"].items():
            run = runs[key]
            assert run.state == expected["state"], key
            assert run.conf == expected.get("conf", {}), key
            assert run.user_note == expected.get("note"), key
            assert run.start_date is not None and run.end_date is not None, key
        tis = conn.execute(select(task_instance)).all()
        assert len(tis) == FACTS["task_instance_count"]
        for key, expected in FACTS["task_instances"].items():
            run_part, task_id = key.rsplit("/", 1)
            run_pk = runs[run_part].id
            ti = next(t for t in tis if (t.run_pk, t.task_id) == (run_pk, task_id))
            assert (ti.state, ti.try_number, ti.max_tries, ti.user_note) == (
                expected["state"],
                expected["try_number"],
                expected["max_tries"],
                expected["note"],
            )
            tries = conn.execute(
                select(task_try).where(task_try.c.ti_id == ti.id).order_by(task_try.c.try_number)
            ).all()
            assert [t.state for t in tries] == expected["tries"]
            assert all(t.duration and t.duration > 0 for t in tries)


def test_a_second_import_changes_nothing(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    do_import(parsed, settings, airflow_url)
    before = counts(parsed)
    again = do_import(parsed, settings, airflow_url)
    assert counts(parsed) == before
    assert not (again.connections or again.variables or again.pools or again.users)
    assert not (again.roles or again.runs or again.pause)
    assert "connection 'warehouse'" in again.kept


def test_the_scheduler_runs_exactly_the_intervals_after_airflows_last(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    plan = do_import(parsed, settings, airflow_url)
    first = {d.dag_id: d.first_run for d in plan.dags}
    scheduler = Scheduler(settings, parsed, LocalExecutor(settings), None)
    scheduler.create_scheduled_runs(SWITCH)
    with parsed.read() as conn:
        made = conn.execute(
            select(dag_run.c.dag_id, dag_run.c.data_interval_start, dag_run.c.data_interval_end)
            .where(dag_run.c.created_by != "airflow import")
            .order_by(dag_run.c.dag_id, dag_run.c.logical_date)
        ).all()
    for dag_id, intervals in FACTS["first_runs"].items():
        expected = [tuple(datetime.fromisoformat(t) for t in pair) for pair in intervals]
        assert [(r[1], r[2]) for r in made if r.dag_id == dag_id] == expected, dag_id
        if expected and not FACTS["paused"][dag_id]:  # the plan said so beforehand
            info = first[dag_id]
            assert info is not None
            assert (info.data_interval.start, info.data_interval.end) == expected[0]


def test_an_imported_user_signs_in_with_the_airflow_password(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    do_import(parsed, settings, airflow_url)
    client = TestClient(create_app(settings, parsed), base_url="http://testserver")
    form = client.get("/login")
    wrong = client.post(
        "/login",
        data={"username": "alice", "password": "not-hers", "csrf_token": "x"},
        follow_redirects=False,
    )
    assert wrong.status_code in (401, 403), form.status_code
    login(client, "alice", FACTS["users"]["alice"]["password"])
    with parsed.read() as conn:
        rehashed = user_rows.get_user(conn, "alice")
    assert rehashed is not None and rehashed.password_hash.startswith("$argon2id$")
    again = TestClient(create_app(settings, parsed), base_url="http://testserver")
    login(again, "alice", FACTS["users"]["alice"]["password"])


def test_a_dry_run_prints_the_plan_and_changes_nothing(
    parsed: Store, settings: Settings, airflow_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.cli.main import cli

    before = counts(parsed)
    monkeypatch.setenv("CONVEYOR_HOME", str(settings.home))
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", parsed.url)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", FACTS["fernet_key"])
    result = CliRunner().invoke(
        cli, ["db", "import-airflow", airflow_url, "--dry-run", "--since", "2025-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert counts(parsed) == before
    assert "would take: 2 connections, 3 variables" in result.output
    assert "variable 'lost_secret'" in result.output
    assert "daily_catchup" in result.output


def test_an_unknown_schema_revision_is_refused_by_name(
    parsed: Store, airflow_url: str, tmp_path: Path
) -> None:
    if airflow_url.startswith("sqlite:"):
        with sqlite3.connect(airflow_url.removeprefix("sqlite:///")) as db:
            db.execute("UPDATE alembic_version SET version_num = 'f00dfeed1234'")
    else:
        with psycopg.connect(airflow_url, autocommit=True) as db:
            db.execute("UPDATE alembic_version SET version_num = 'f00dfeed1234'")
    with pytest.raises(UnknownAirflowSchema, match="'f00dfeed1234'"):
        plan_import(parsed, airflow_url, FACTS["fernet_key"], SINCE, now=SWITCH)
