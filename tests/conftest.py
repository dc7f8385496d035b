"""Fixtures shared by the test layers: real stores, fast settings, a bounded scheduler run.

Databases are real. PostgreSQL tests get a database of their own, cloned from a template that
was migrated once per session (``CREATE DATABASE ... TEMPLATE`` takes tens of milliseconds,
migrating takes longer), so tests never share rows and never need cleaning up.

A PostgreSQL server that cannot be reached skips its tests locally but fails them when the
environment variable ``CI`` is ``true``: a service missing from CI must not pass silently.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

import cli_processes
import pg_clones
from conveyor import clock
from conveyor._processes import fork_context
from conveyor.config import Settings, load_config
from conveyor.executors.local import LocalExecutor
from conveyor.loading import namespaces
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import schema, server_clock
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance

if TYPE_CHECKING:
    from run_env import Env

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/conveyor_test"

#: New DAGs are paused at creation by default, as in Airflow. The tests of other things
#: write a DAG and expect it to run, so they opt out here: every ``conveyor`` process a test
#: starts inherits this, and so does a ``DagFileProcessor`` built without the keyword. The
#: default itself is tested with the variable removed or the setting given
#: (tests/integration/test_paused_at_creation.py, tests/acceptance/test_new_folder_paused.py).
PAUSED_AT_CREATION_VAR = "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION"
os.environ[PAUSED_AT_CREATION_VAR] = "false"

#: A quick ``conveyor`` command goes to a command server that outlives it
#: (conveyor/cli/command_client.py). The suite's commands run where they are started, each
#: test's processes its own; tests/acceptance/test_cli_command_server.py turns it on. A test
#: that gives its commands an environment without any CONVEYOR_* turns it on too: their
#: servers live in this session's runtime folder (short: a socket's path has 107 bytes at
#: most) and are stopped with the session.
os.environ["CONVEYOR_COMMAND_SERVER"] = "off"
SESSION_RUNTIME = Path(tempfile.mkdtemp(prefix="cr-"))
os.environ["XDG_RUNTIME_DIR"] = str(SESSION_RUNTIME)

#: Loops fast enough that a whole run takes about a second, slow enough for a 2-core machine.
FAST = {
    "scheduler_loop_seconds": 0.1,
    "dag_scan_seconds": 0.2,
    "heartbeat_seconds": 0.5,
    "zombie_after_seconds": 3,
    "requeue_after_seconds": 3,
    "kill_grace_seconds": 1,
    "dags_are_paused_at_creation": False,  # see PAUSED_AT_CREATION_VAR
}


def _with_database(url: str, name: str) -> str:
    """The same server, another database; as a plain URL psycopg accepts."""
    parsed = make_url(url).set(drivername="postgresql", database=name)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def preloaded_fork_server() -> None:
    """Conveyor's preload for the session's one fork server, set before any test starts it.

    ``multiprocessing`` keeps a single fork server per process. A test that starts it through
    a plain ``get_context("forkserver")`` would otherwise start it without Conveyor preloaded,
    and every later DAG parse and try would pay the imports: hundreds of milliseconds each on
    a busy 2-core machine, enough to break the timing that the scheduler tests check.
    """
    fork_context()  # sets the preload only; the server starts when a child first needs it


@pytest.fixture(autouse=True)
def no_leftover_cli_processes() -> Iterator[None]:
    """A ``conveyor`` process (``cli_processes``) that a test left running is ended with its
    group after that test, and that test fails for it; its pipes' garbage is collected
    there too, so an unclosed pipe is reported on the test that leaked it, never the next.
    Tests that started no such process pay nothing."""
    before = cli_processes.started_count()
    yield
    if cli_processes.started_count() == before:
        return
    left = cli_processes.end_leftovers()
    gc.collect()
    assert not left, f"the test left conveyor processes running: {left}"


@pytest.fixture(autouse=True)
def host_clock() -> None:
    """Each test starts on this host's clock. A PostgreSQL store used by an earlier test of
    the process measured the server's clock and set Conveyor's offset to it (a fraction of a
    millisecond on this host), and a SQLite test comparing Conveyor's times with the host's
    would carry it; a PostgreSQL store measures again at its first checkout."""
    clock.set_offset(0)
    server_clock.forget_measure()


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """The umask as it was before each test: the CLI's ``main`` restricts it (077) for the
    process it runs in, and a test that calls it in-process must not make every file the
    later tests write, such as DAG folders that containers mount, unreadable to others."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture(autouse=True)
def no_dag_folder_left_entered() -> Iterator[None]:
    """A DAG folder's namespace that a test left entered (a ``DagBag``, an in-process import)
    is left after it, as the end of its process would leave it: its folders off ``sys.path``
    and its helpers out of ``sys.modules``. Otherwise a later test that copies ``sys.path``
    keeps the folder on it for good, and that folder's ``common`` is every later ``common``."""
    yield
    namespaces.leave()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL server for tests (``CONVEYOR_TEST_PG_URL``), checked to answer."""
    url = os.environ.get("CONVEYOR_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        psycopg.connect(_with_database(url, "postgres"), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def pg_admin(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the ``postgres`` database, for CREATE/DROP DATABASE."""
    with psycopg.connect(_with_database(pg_url, "postgres"), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def pg_template(pg_url: str, pg_admin: psycopg.Connection[Any]) -> Iterator[str]:
    """Name of a database migrated to the newest schema, to clone per test."""
    name = f"conveyor_tmpl_{os.getpid()}"
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg_admin.execute(f"CREATE DATABASE {name}")
    store = Store(_with_database(pg_url, name))
    schema.migrate(store)
    store.dispose()  # a template may have no open connections while it is cloned
    yield name
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


#: Test files that take minutes, started first (scripts/test runs ``--dist loadfile
#: --no-loadscope-reorder``, which keeps this order): a long file that started last would
#: leave the other core idle until it ends.
SLOW_FILES_FIRST = (
    "tests/deploy/test_containers.py",
    "tests/acceptance/test_cli.py",
    "tests/fault/test_scheduler_failover.py",
    "tests/fault/test_store_restart.py",
    "tests/fault/test_store_failover.py",
    "tests/fault/test_disk_full.py",
    "tests/fault/test_network_faults.py",
    "tests/fault/test_broker_restart.py",
    "tests/fault/test_clock_skew.py",
    "tests/integration/test_celery.py",
    "tests/integration/test_docker_provider_dags.py",
    "tests/integration/test_kubernetes_provider_dags.py",
    "tests/integration/test_examples.py",
    "tests/integration/test_deferral.py",
    "tests/differential/test_differential.py",
)


def pytest_sessionfinish() -> None:
    """The command servers this session's commands started leave with it."""
    for pid in cli_processes.running_with(
        "conveyor.cli.command_server", str(SESSION_RUNTIME / "conveyor")
    ):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    shutil.rmtree(SESSION_RUNTIME, ignore_errors=True)


#: Seconds each test file took (setup, call and teardown of its tests), summed in the process
#: that reports: the summary names the files that bound the suite's time.
_FILE_SECONDS: dict[str, float] = {}
#: How many of the slowest files the summary lists.
_SLOWEST_FILES = 25


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The slowest test files, so that what to make cheaper is one look away (the
    suite's bound is on CI's whole run)."""
    if not _FILE_SECONDS:
        return
    slowest = sorted(_FILE_SECONDS.items(), key=lambda item: item[1], reverse=True)
    terminalreporter.write_sep("=", f"slowest {_SLOWEST_FILES} test files")
    for path, seconds in slowest[:_SLOWEST_FILES]:
        terminalreporter.write_line(f"{seconds:8.1f}s {path}")
    total = sum(_FILE_SECONDS.values())
    terminalreporter.write_line(f"{total:8.1f}s in all, {len(_FILE_SECONDS)} files")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Moves the tests of :data:`SLOW_FILES_FIRST` to the front, in that order; the rest keep
    theirs. Every xdist worker collects the same order, as xdist requires."""
    rank = {path: index for index, path in enumerate(SLOW_FILES_FIRST)}
    last = len(rank)
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], last))


@pytest.fixture(scope="session")
def pg_spare_clones(
    pg_url: str, pg_admin: psycopg.Connection[Any], pg_template: str
) -> Iterator[tuple[pg_clones.TemplateState, list[str]]]:
    """The template's state, and this worker's clones emptied back to it, for the next tests
    (tests/pg_clones.py); dropped at the end."""
    spares: list[str] = []
    yield pg_clones.read_template(_with_database(pg_url, pg_template)), spares
    for name in spares:
        pg_clones.drop(pg_admin, name)


@pytest.fixture
def pg_database_url(
    pg_url: str,
    pg_admin: psycopg.Connection[Any],
    pg_template: str,
    pg_spare_clones: tuple[pg_clones.TemplateState, list[str]],
) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, emptied afterwards for the next
    (dropped if the test changed its schema)."""
    template, spares = pg_spare_clones
    name = spares.pop() if spares else pg_clones.clone(pg_admin, pg_template)
    yield _with_database(pg_url, name)
    emptied = pg_clones.reset(pg_admin, lambda db: _with_database(pg_url, db), name, template)
    if emptied is None:
        pg_clones.drop(pg_admin, name)
    else:
        spares.append(emptied)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated store on each backend: the test runs once per backend."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_database_url"))
    path = tmp_path / "conveyor.db"
    template: Path = request.getfixturevalue("sqlite_template")
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(path)) as copy,
    ):
        source.backup(copy)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated to the newest schema once per test process: each test's
    store is a copy (running every migration took 0.2 s a test, a copy takes about 1 ms)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "conveyor.db"
    store = Store(f"sqlite:///{path}")
    schema.migrate(store)
    store.dispose()
    return path


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A Store on ``store_url``, disposed after the test."""
    opened = Store(store_url)
    yield opened
    opened.dispose()


@pytest.fixture
def env(tmp_path: Path, store: Store) -> Env:
    """An empty DAG folder on ``store`` (both backends), with :class:`run_env.Env`'s verbs.

    A module that wants DAG files in it from the start overrides ``env`` with a fixture of
    the same name that takes this one, writes them and returns it."""
    from run_env import Env  # run_env imports this module's helpers

    dags = tmp_path / "dags"
    dags.mkdir()
    return Env(tmp_path, dags, store)


@pytest.fixture
def airflow_hook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Airflow's import paths giving Conveyor's objects for one test
    (:func:`airflow_hook_on.hook_on`)."""
    from airflow_hook_on import hook_on  # imports the compat layer: only for tests that ask

    with hook_on(monkeypatch, tmp_path):
        yield


def make_settings(
    tmp_path: Path, dags_folder: Path, database_url: str, **overrides: Any
) -> Settings:
    """Settings for a test: home under ``tmp_path`` and the fast loops of :data:`FAST`."""
    values = {**FAST, **overrides}
    return load_config(
        {"CONVEYOR_HOME": str(tmp_path / "home")},  # never the developer's own environment
        home=tmp_path / "home",
        dags_folder=dags_folder,
        database_url=database_url,
        **values,
    ).settings


def token_clients(app: Any, store: Store) -> dict[str, Any]:
    """A user for each role (``admin``, ``op``, ``viewer``) and a TestClient of ``app`` that
    sends that user's API token, by role."""
    from fastapi.testclient import TestClient

    from conveyor.web import accounts

    clients = {}
    for role in ("admin", "op", "viewer"):
        accounts.create_user(store, role, role, f"{role}-password-1")
        token = accounts.create_token(store, role, "tests")
        clients[role] = TestClient(
            app, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"}
        )
    return clients


def describe_runs(store: Store) -> str:
    """Every run with its task states, for the message of a test that timed out."""
    lines = []
    with store.read() as conn:
        for run in conn.execute(select(dag_run).order_by(dag_run.c.id)):
            lines.append(f"run {run.id} {run.dag_id}/{run.run_id}: {run.state} {run.note or ''}")
            tis = conn.execute(
                select(task_instance.c.task_id, task_instance.c.state, task_instance.c.try_number)
                .where(task_instance.c.run_pk == run.id)
                .order_by(task_instance.c.id)
            )
            lines.extend(f"    {ti.task_id}: {ti.state} (try {ti.try_number})" for ti in tis)
    return "\n".join(lines) or "no runs at all"


def run_scheduler(
    settings: Settings,
    store: Store,
    until: Callable[[], bool],
    *,
    limit: float = 30.0,
    what: str = "the condition",
) -> float:
    """Run a real scheduler with the local executor until ``until()``; return the seconds taken.

    Raises AssertionError, listing every run and task state, if ``limit`` seconds pass first.
    """
    processor = DagFileProcessor(
        store,
        settings.dags_path,
        timeout=settings.parse_timeout_seconds,
        scan_every=settings.dag_scan_seconds,
        paused_at_creation=settings.dags_are_paused_at_creation,
        reparse_every=settings.min_file_process_interval,
        stats_every=settings.dag_processor_stats_seconds,
    )
    scheduler = Scheduler(settings, store, LocalExecutor(settings), processor)
    started = time.monotonic()
    deadline = started + limit
    met = False

    def check() -> bool:
        nonlocal met
        met = until()
        return met or time.monotonic() > deadline

    scheduler.run(until=check)
    elapsed = time.monotonic() - started
    if not met:
        raise AssertionError(
            f"{what} not reached within {limit:g}s; the store holds:\n{describe_runs(store)}"
        )
    return elapsed


def runs_finished(store: Store, run_pks: list[int]) -> Callable[[], bool]:
    """A condition for :func:`run_scheduler`: every one of these runs succeeded or failed."""

    def check() -> bool:
        with store.read() as conn:
            states = conn.execute(select(dag_run.c.state).where(dag_run.c.id.in_(run_pks)))
            found = [RunState(s) for s in states.scalars()]
        return len(found) == len(run_pks) and all(s in RUN_FINISHED for s in found)

    return check


def run_until_finished(
    settings: Settings, store: Store, run_pks: list[int], *, limit: float = 30.0
) -> float:
    """Run a scheduler until every one of ``run_pks`` finished; return the seconds taken."""
    return run_scheduler(
        settings, store, runs_finished(store, run_pks), limit=limit, what=f"runs {run_pks} finished"
    )
