"""`conveyor db import-airflow` against metadata databases real Airflow releases made.

tests/fixtures/airflow_dbs holds them (scripts/make-airflow-fixture-dbs made them with
Airflow's CLI and models: SQLite files, and dumps of PostgreSQL and MariaDB databases) and
facts.json, what they hold. Each test imports one into a fresh store (SQLite and
PostgreSQL) in which Conveyor parsed the same DAG file, at the moment facts.json names: the
switch, a few days after Airflow's last runs.
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
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
import sql_servers
from click.testing import CliRunner
from fastapi.testclient import TestClient
from jinja2 import TemplateError
from jinja2.exceptions import SecurityError
from sql_servers import mysql_connect, mysql_rows
from sqlalchemy import func, select

from api.api_helpers import login
from conftest import _with_database, make_settings
from conveyor.airflow_import.apply import apply_plan, plan_import
from conveyor.airflow_import.fernet import AirflowSecrets
from conveyor.airflow_import.logs import airflow_log_path, copy_logs
from conveyor.airflow_import.plan import make_plan
from conveyor.cli.common import settings as cli_settings
from conveyor.clock import frozen_at
from conveyor.config import Settings
from conveyor.connections import repository
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.logs import read_try_log
from conveyor.model.datasets import ALIAS_PREFIX
from conveyor.scheduler.datasets import create_dataset_runs
from conveyor.scheduler.loop import Scheduler
from conveyor.store import datasets
from conveyor.store import roles as role_rows
from conveyor.store import users as user_rows
from conveyor.store.airflow_import import reading, writing
from conveyor.store.airflow_import.records import AirflowContents, AirflowDag, AirflowRun
from conveyor.store.airflow_import.revisions import UnknownAirflowSchema
from conveyor.store.engine import Store
from conveyor.store.tables import (
    dag,
    dag_run,
    dataset_event,
    pool,
    task_event,
    task_instance,
    task_try,
    web_user,
)
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
    *sorted(p.name for p in FIXTURES.glob("airflow-*.mysql.sql.gz")),
]
_restored = itertools.count(1)
mysql_url = sql_servers.mysql_url  # the fixture, for the MySQL dump


@pytest.fixture(scope="module", params=DATABASES)
def airflow_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A copy of one kept Airflow database: a SQLite file, or a PostgreSQL or MySQL dump
    restored into a database of its own. One copy serves the module's tests: the import
    opens it read-only (the one test that changes it puts it back)."""
    name: str = request.param
    if name.endswith(".pg.sql.gz"):
        yield from _restored_dump(request, name)
        return
    if name.endswith(".mysql.sql.gz"):
        yield from _restored_mysql_dump(request, name)
        return
    target = tmp_path_factory.mktemp("airflow_db") / name.removesuffix(".gz")
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


def _restored_mysql_dump(request: pytest.FixtureRequest, name: str) -> Iterator[str]:
    server: str = request.getfixturevalue("mysql_url")
    parts = urlsplit(server)
    database = f"airflow_src_{os.getpid()}_{next(_restored)}"
    mysql_rows(server, f"CREATE DATABASE {database}")
    try:
        restore = subprocess.run(
            [
                *("mysql", "-h", parts.hostname or "127.0.0.1", "-P", str(parts.port or 3306)),
                *("-u", parts.username or "root", database),
            ],
            input=gzip.decompress((FIXTURES / name).read_bytes()),
            capture_output=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr.decode()
        # A server whose sessions are not in UTC: Airflow wrote its times in UTC sessions.
        zone = urlencode({"init_command": "SET time_zone = '+05:00'"})
        yield parts._replace(path=f"/{database}", query=zone).geturl()
    finally:
        mysql_rows(server, f"DROP DATABASE IF EXISTS {database}")


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


def of_release(plan: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The facts of the release ``plan`` read: an entry marked ``"airflow": 3`` is only in
    Airflow 3's databases."""
    major = int(plan.release.split(".")[0])
    return {k: v for k, v in facts.items() if v.get("airflow", major) == major}


def before_2_10(release: str) -> bool:
    """Whether Airflow ``release`` (``2.9.3``, or a fixture's file name) numbered tries as
    they started, and kept only an instance's latest try."""
    major, minor = (int(p) for p in release.removeprefix("airflow-").split(".")[:2])
    return (major, minor) < (2, 10)


def as_release_holds(facts: dict[str, Any], plan: Any) -> dict[str, Any]:
    """An entry of facts.json as the release ``plan`` read holds it."""
    return {**facts, **(facts.get("before 2.10", {}) if before_2_10(plan.release) else {})}


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
            for t in (dag_run, task_instance, task_try, pool, web_user, dataset_event)
        }


def test_every_fact_of_the_airflow_database_is_imported(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    plan = do_import(parsed, settings, airflow_url)
    store = parsed
    for conn_id, expected in FACTS["connections"].items():
        found = repository.get_connection(store, settings, conn_id)
        for name, value in expected.items():
            # facts.json writes extra as the object; a connection keeps its JSON text.
            got = found.extra_dejson if name == "extra" else getattr(found, name)
            assert got == value, (conn_id, name)
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
        expected_runs = of_release(plan, FACTS["runs"])
        assert set(runs) == set(expected_runs)
        for key, expected in expected_runs.items():
            run = runs[key]
            assert run.state == expected["state"], key
            assert run.conf == expected.get("conf", {}), key
            assert run.user_note == expected.get("note"), key
            interval = (run.data_interval_start, run.data_interval_end)
            assert [t.isoformat() for t in interval] == expected["interval"], key
            assert (run.start_date is not None) == (run.state != "queued"), key
            assert (run.end_date is not None) == (run.state in ("success", "failed")), key
        tis = conn.execute(select(task_instance)).all()
        assert len(tis) == FACTS["task_instance_count"][plan.release.split(".")[0]]
        for key, facts in FACTS["task_instances"].items():
            expected = as_release_holds(facts, plan)
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
            assert tries[-1].try_number == ti.try_number  # the latest keeps Airflow's number
            assert all(t.duration and t.duration > 0 for t in tries)


def test_a_second_import_changes_nothing(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    """Asset updates too: the one Airflow had queued for the consumer waits in Conveyor's
    queue, the ones a run of Airflow's consumed do not, and once Conveyor consumed it, the
    import run again does not queue it a second time."""
    plan = do_import(parsed, settings, airflow_url)
    assert [(u.dag_id, u.uri) for u in plan.asset_queue] == [("consumer", "s3://lake/orders")]
    with parsed.read() as conn:
        made = {
            uri: [[e.source_run_id, e.at.isoformat()] for e in datasets.events_of(conn, uri)]
            for uri in FACTS["asset_events"]
        }
        pending = datasets.pending_updates(conn, "consumer")
    assert made == FACTS["asset_events"]
    assert {uri: u.source_run_id for uri, u in pending.items()} == FACTS["asset_queue"]
    actor = Scheduler(settings, parsed, LocalExecutor(settings), None).actor
    assert create_dataset_runs(parsed, actor, SWITCH) == 0  # customers has no update since
    with parsed.write() as conn:
        datasets.consume(conn, "consumer", [u.dataset_id for u in pending.values()])
    before = counts(parsed)
    again = do_import(parsed, settings, airflow_url)
    assert counts(parsed) == before
    assert not (again.connections or again.variables or again.pools or again.users)
    assert not (again.roles or again.runs or again.pause)
    assert "connection 'warehouse'" in again.kept
    with parsed.read() as conn:
        assert datasets.pending_updates(conn, "consumer") == {}


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
    # A DAG that runs on its assets has no first scheduled run, and the plan says why.
    consumer = next(d for d in plan.dags if d.dag_id == "consumer")
    assert consumer.first_run is None
    assert consumer.runs_on == "runs when its assets are updated"


def test_runs_airflow_left_midway_go_on_without_running_a_started_try_again(
    parsed: Store, settings: Settings, airflow_url: str
) -> None:
    plan = do_import(parsed, settings, airflow_url)
    facts = FACTS["midway"]
    midway = next(d for d in plan.dags if d.dag_id == "midway")
    assert (midway.queued_runs, midway.running_runs) == (1, 1)
    assert (midway.not_started, midway.between_tries) == (1, 1)
    assert [str(u) for u in midway.unknown] == facts["unknown"]
    assert instances(parsed, "midway") == facts["imported"]
    with parsed.read() as conn:
        said = conn.execute(
            select(task_event.c.message)
            .join(task_instance, task_instance.c.id == task_event.c.ti_id)
            .where(task_instance.c.run_id == "left_running", task_instance.c.task_id == "second")
        ).scalar_one()
    assert "its outcome is unknown" in said and "clear it" in said
    scheduler = Scheduler(settings, parsed, LocalExecutor(settings), None)
    scheduler.start_queued_runs()
    scheduler.advance_running_runs(SWITCH)
    # The started try is not run again; the rest of both runs goes on.
    assert instances(parsed, "midway") == facts["planned"]


#: Rows of ``left_running`` as each release stores them when the switch comes with
#: ``first`` cleared after its first try, ``second`` deferred in its first try, ``side``
#: waiting for its first try's next poke and ``waiting`` queued for its second try:
#: (task, state, try_number before 2.10, from 2.10).
AT_A_TRY = [
    ("first", None, 1, 1),
    ("second", "deferred", 0, 1),
    ("side", "up_for_reschedule", 0, 1),
    ("waiting", "queued", 1, 2),
]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("airflow-*.db.gz")))
def test_each_release_s_try_numbers_are_read_as_the_try_each_instance_is_at(
    parsed: Store, settings: Settings, tmp_path: Path, name: str
) -> None:
    """Airflow before 2.10 stored the number of the try before in some of these states:
    imported from any release, each instance is at the same try, and the cleared and the
    queued ones run try 2, as Airflow would have."""
    target = tmp_path / name.removesuffix(".gz")
    target.write_bytes(gzip.decompress((FIXTURES / name).read_bytes()))
    older_numbers = before_2_10(name)
    with closing(sqlite3.connect(target)) as db, db:
        for task_id, state, older, newer in AT_A_TRY:
            db.execute(
                "UPDATE task_instance SET state = ?, try_number = ? "
                "WHERE run_id = 'left_running' AND task_id = ?",
                (state, older if older_numbers else newer, task_id),
            )
    plan = do_import(parsed, settings, f"sqlite:///{target}")
    midway = next(d for d in plan.dags if d.dag_id == "midway")
    assert [str(u) for u in midway.unknown] == [
        "left_running/second (try 1, deferred on airflow-worker-1 since 2026-01-07 20:01)"
    ]
    found = instances(parsed, "midway")
    assert found["left_running/first"] == ["running", "none", 1]
    assert found["left_running/second"] == ["running", "failed", 1]
    assert found["left_running/side"] == ["running", "up_for_reschedule", 1]
    assert found["left_running/waiting"] == ["running", "none", 1]
    scheduler = Scheduler(settings, parsed, LocalExecutor(settings), None)
    scheduler.advance_running_runs(SWITCH)
    after = instances(parsed, "midway")
    assert (
        after["left_running/first"]
        == after["left_running/waiting"]
        == [
            "running",
            "scheduled",
            2,
        ]
    )


def instances(store: Store, dag_id: str) -> dict[str, list[Any]]:
    """``run_id/task_id`` -> [the run's state, the instance's state, its try number]."""
    with store.read() as conn:
        rows = conn.execute(
            select(dag_run.c.run_id, dag_run.c.state, task_instance.c.task_id)
            .add_columns(task_instance.c.state.label("ti_state"), task_instance.c.try_number)
            .join(task_instance, task_instance.c.run_pk == dag_run.c.id)
            .where(dag_run.c.dag_id == dag_id)
        ).all()
    return {f"{r.run_id}/{r.task_id}": [r.state, r.ti_state, r.try_number] for r in rows}


def test_a_cron_string_airflow_3_ran_as_a_trigger_timetable_is_left_paused_by_name(
    parsed: Store,
) -> None:
    """Airflow 3's default (create_cron_data_intervals=False) ran ``@daily`` at midnight
    with no interval; here the string means intervals, the next of which would have that
    run's logical date. The plan says so, and how to keep Airflow's meaning."""
    at = datetime(2026, 1, 7, tzinfo=UTC)
    ran = AirflowRun(
        dag_id="daily_catchup",
        run_id=f"scheduled__{at.isoformat()}",
        run_type="scheduled",
        state="success",
        logical_date=at,
        data_interval_start=at,
        data_interval_end=at,
        run_after=at,
        queued_at=at,
        start_date=at,
        end_date=at,
        conf={},
        note=None,
        triggered_by="timetable",
    )
    contents = AirflowContents(
        revision="d2f4e1b3c5a7",
        release="3.3.0",
        connections=[],
        variables=[],
        pools=[],
        roles=[],
        users=[],
        dags=[AirflowDag("daily_catchup", False, True, None, None)],
        runs=[ran],
    )
    with parsed.read() as conn:
        here = writing.present(conn, ["daily_catchup"])
        plan = make_plan(conn, contents, here, AirflowSecrets(None), SWITCH)
    (daily,) = plan.dags
    assert daily.ran_as_trigger and daily.paused and plan.pause == {"daily_catchup": True}
    assert daily.last_scheduled is not None and daily.last_scheduled.start == at
    (problem,) = plan.problems
    assert "CronTriggerTimetable('@daily'" in problem and "left paused" in problem


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
    cli_settings.cache_clear()  # the command reads these, not an earlier test's settings
    try:
        result = CliRunner().invoke(
            cli, ["db", "import-airflow", airflow_url, "--dry-run", "--since", "2025-01-01"]
        )
    finally:
        cli_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert counts(parsed) == before
    assert "would take: 2 connections, 3 variables" in result.output
    assert "variable 'lost_secret'" in result.output
    assert "daily_catchup" in result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert f"midway: {FACTS['midway']['unknown'][0]}: left started by Airflow" in said
    assert "midway: 1 runs Airflow left queued: Conveyor's scheduler starts them" in said
    assert "consumer: waits for an update of s3://lake/orders" in said
    assert "2026-01-02 00:00 (no interval)" in said  # once_only's one run


def _set_revision(airflow_url: str, revision: str) -> str:
    """Set the Airflow database's schema revision; the one it had."""
    change = "UPDATE alembic_version SET version_num = %s"
    if airflow_url.startswith("sqlite:"):
        with closing(sqlite3.connect(airflow_url.removeprefix("sqlite:///"))) as db, db:
            (before,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
            db.execute(change.replace("%s", "?"), (revision,))
    elif airflow_url.startswith("mysql:"):
        db = mysql_connect(airflow_url)
        with db.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            (before,) = cursor.fetchone()
            cursor.execute(change, (revision,))
        db.commit()
        db.close()
    else:
        with psycopg.connect(airflow_url, autocommit=True) as db:
            (before,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
            db.execute(change, (revision,))
    return str(before)


def test_an_unknown_schema_revision_is_refused_by_name(parsed: Store, airflow_url: str) -> None:
    before = _set_revision(airflow_url, "f00dfeed1234")
    try:
        with pytest.raises(UnknownAirflowSchema, match="'f00dfeed1234'"):
            plan_import(parsed, airflow_url, FACTS["fernet_key"], SINCE, now=SWITCH)
    finally:
        _set_revision(airflow_url, before)  # the module's other tests read this copy


def airflow_log_name(dag_id: str, run_id: str, task_id: str, map_index: int, n: int) -> str:
    """Where Airflow 2.3 and later keep a try's log below base_log_folder by default."""
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    return f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{mapped}attempt={n}.log"


def test_logs_airflow_kept_are_copied_for_the_imported_tries(
    parsed: Store,
    settings: Settings,
    airflow_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Imported first without --logs, then again with them (the command): every try whose
    log Airflow kept gets a copy that Conveyor's log readers show; a third copies nothing."""
    from conveyor.cli.main import cli

    do_import(parsed, settings, airflow_url)
    with parsed.read() as conn:
        tries = conn.execute(
            select(
                task_try.c.id,
                dag_run.c.dag_id,
                dag_run.c.run_id,
                task_instance.c.task_id,
                task_instance.c.map_index,
                task_try.c.try_number,
            )
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .join(dag_run, dag_run.c.id == task_instance.c.run_pk)
            .order_by(task_try.c.id)
        ).all()
    assert len(tries) > 5
    folder = tmp_path / "airflow-logs"
    kept, lost = tries[1:], tries[0]  # Airflow's log of the first try is gone
    for t in kept:
        path = folder / airflow_log_name(t.dag_id, t.run_id, t.task_id, t.map_index, t.try_number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"log of {t.dag_id}/{t.run_id}/{t.task_id} try {t.try_number}\n")
    (folder / "dag_id=elsewhere").mkdir()  # what no imported try names is not read
    monkeypatch.setenv("CONVEYOR_HOME", str(settings.home))
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", parsed.url)
    monkeypatch.setenv("CONVEYOR_LOG_FOLDER", str(settings.logs_path))
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", FACTS["fernet_key"])
    cli_settings.cache_clear()  # the command reads these, not an earlier test's settings
    try:
        args = ["db", "import-airflow", airflow_url, "--since", "2025-01-01", "--logs", folder]
        result = CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        cli_settings.cache_clear()
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert f"logs: {len(kept)} tries' logs copied from {folder}; 1 tries had none there" in said
    with parsed.read() as conn:
        paths = dict(conn.execute(select(task_try.c.id, task_try.c.log_path)).all())
    assert paths[lost.id] is None
    for t in kept:
        shown = read_try_log(settings, paths[t.id])
        assert shown == f"log of {t.dag_id}/{t.run_id}/{t.task_id} try {t.try_number}\n".encode()
        assert Path(paths[t.id]).is_relative_to(settings.logs_path)
    plan = plan_import(parsed, airflow_url, FACTS["fernet_key"], SINCE, now=SWITCH)
    assert not plan.runs  # everything came over before
    again = copy_logs(parsed, settings, plan, folder)
    assert (again.copied, again.not_found) == (0, 1)


def test_a_log_template_renders_as_airflow_names_its_tries_logs() -> None:
    """The templates Airflow records per run: 2.3 and later (3.x keeps a default for the try
    number), and 2.2 and older, dated by ``ts``."""
    at = datetime(2026, 1, 3, tzinfo=UTC)
    current = (
        "dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/"
        "{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}"
        "attempt={{ try_number|default(ti.try_number) }}.log"
    )
    assert airflow_log_path(current, "d", "scheduled__x", "t", -1, 2, at) == (
        "dag_id=d/run_id=scheduled__x/task_id=t/attempt=2.log"
    )
    assert airflow_log_path(current, "d", "r", "t", 3, 1, None) == (
        "dag_id=d/run_id=r/task_id=t/map_index=3/attempt=1.log"
    )
    old = "{{ ti.dag_id }}/{{ ti.task_id }}/{{ ts }}/{{ try_number }}.log"
    assert airflow_log_path(old, "d", "r", "t", -1, 1, at) == "d/t/2026-01-03T00:00:00+00:00/1.log"
    with pytest.raises(TemplateError):
        airflow_log_path("{{ ti.hostname }}/{{ try_number }}.log", "d", "r", "t", -1, 1, at)
    with pytest.raises(SecurityError):
        airflow_log_path("{{ ti.__class__.__mro__ }}", "d", "r", "t", -1, 1, at)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            p.name,
            marks=pytest.mark.skip(reason="Airflow before 2.10 has no dataset aliases"),
        )
        if before_2_10(p.name)
        else p.name
        for p in sorted(FIXTURES.glob("airflow-*.db.gz"))
    ],
)
def test_the_alias_an_event_went_through_is_imported_with_it(
    parsed: Store, settings: Settings, tmp_path: Path, name: str
) -> None:
    """The fixture's last update of orders, as if its task had emitted it through two
    aliases (the rows Airflow's alias tables hold then): Conveyor keeps the first by name,
    and shows the event under that alias as it shows events its own tasks emit so."""
    target = tmp_path / name.removesuffix(".gz")
    target.write_bytes(gzip.decompress((FIXTURES / name).read_bytes()))
    word = "dataset" if name.startswith("airflow-2") else "asset"
    with closing(sqlite3.connect(target)) as db, db:
        event_id = db.execute(
            f"SELECT id FROM {word}_event WHERE source_run_id = 'publish_2026-01-07'"
        ).fetchone()[0]
        for alias_id, alias in ((7, "lake_writes"), (8, "z_other")):
            if word == "asset":
                db.execute(
                    "INSERT INTO asset_alias (id, name, \"group\") VALUES (?, ?, 'asset')",
                    (alias_id, alias),
                )
            else:
                db.execute("INSERT INTO dataset_alias (id, name) VALUES (?, ?)", (alias_id, alias))
            db.execute(
                f"INSERT INTO {word}_alias_{word}_event (alias_id, event_id) VALUES (?, ?)",
                (alias_id, event_id),
            )
    do_import(parsed, settings, f"sqlite:///{target}")
    with parsed.read() as conn:
        assert datasets.alias_uris(conn, "lake_writes") == ["s3://lake/orders"]
        (through,) = datasets.events_of(conn, ALIAS_PREFIX + "lake_writes")
        others = datasets.events_of(conn, "s3://lake/customers")
    assert through.source_run_id == "publish_2026-01-07"
    assert through.as_conf()["source_aliases"] == ["lake_writes"]
    assert all(e.source_alias is None for e in others)


def test_a_run_that_recorded_no_log_template_used_the_oldest(tmp_path: Path) -> None:
    """A run made before Airflow recorded templates per run (its log_template_id NULL) named
    its logs by the first template; the others by the one they recorded."""
    target = tmp_path / "airflow.db"
    target.write_bytes(gzip.decompress((FIXTURES / "airflow-3.3.2.db.gz").read_bytes()))
    with closing(sqlite3.connect(target)) as db, db:
        oldest, newest = (
            row[0] for row in db.execute("SELECT filename FROM log_template ORDER BY id")
        )
        db.execute("UPDATE dag_run SET log_template_id = NULL WHERE run_id = 'left_queued'")
    with reading.airflow_database(f"sqlite:///{target}") as (conn, tables):
        contents = reading.read_all(conn, tables, SINCE)
    templates = {r.run_id: r.log_template for r in contents.runs}
    assert templates.pop("left_queued") == oldest
    assert set(templates.values()) == {newest}
    assert "{{ ts }}" in oldest and "attempt=" in newest
