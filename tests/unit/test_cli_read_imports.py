"""The command line's reads start quickly: each read command, run by the real entry point in a
fresh interpreter on a store that holds DAGs, a run, a variable and a connection, imports
none of the heavy modules a read does not need (Alembic with Mako and Pygments, the web app,
the scheduler, the engine, the executors, the DAG parser, psycopg on SQLite).

A schema that is current is recognised by one query (``conveyor.store.schema_version``); an
old or empty one still goes through Alembic, as the tests at the bottom check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from sqlalchemy import text

from cli_processes import PROBE
from conveyor.cli.common import open_store
from conveyor.config import load_config
from conveyor.exceptions import StoreError
from conveyor.store import schema, schema_version
from conveyor.store.engine import Store

#: No read command may import these (a name covers its submodules).
HEAVY = (
    "alembic",
    "mako",
    "pygments",
    "fastapi",
    "starlette",
    "uvicorn",
    "celery",
    "kombu",
    "jinja2",
    "jsonschema",
    "psycopg",  # the store here is SQLite
    "sqlalchemy.dialects.postgresql",  # likewise (store/tables.py names no dialect)
    "yaml",  # only -o yaml
    "pathspec",  # .airflowignore's glob rules: the folder here has none
    "conveyor.store.schema",  # Alembic's side of the schema check
    "conveyor.store.hop.pipeline",  # the hop's statements and locks
    "conveyor.store.hop.run_lock",
    "conveyor.store.hop.steps",
    "conveyor.scheduler",
    "conveyor.engine",
    "conveyor.executors",
    "conveyor.worker",
    "conveyor.triggerer",
    "conveyor.airflow_compat.hook",
    "conveyor.loading.importer",  # parsing a DAG file: none changed
    "conveyor.loading.serialize",
    "conveyor.model.dag",
    "conveyor.model.params",
    "conveyor.serialized",  # a DAG's shapes: only the reads that print a DAG's structure
    "croniter",  # the schedules, beneath the shapes
    "conveyor.store.datasets",  # assets: a sync that writes nothing needs none
    "conveyor.store.asset_events",
    "pluggy",  # the listeners' hooks: a read tells no listener anything
    "conveyor.airflow_compat.listeners",
    "conveyor.lineage",
    "openlineage",
    "opentelemetry",
    "httpx",
    "requests",
    "conveyor.providers",
    "conveyor.operators",
    "conveyor.callbacks",
    "cryptography",  # only the reads of variables and connections decrypt
)

#: The web's read model: what the API serves, and what the reads print (-o json is the API's
#: shape). Any other module of conveyor.web is the web app's own.
WEB_READ_MODEL = {
    "conveyor.web",
    "conveyor.web.queries",
    "conveyor.web.schemas",
    "conveyor.web.row_shapes",
    "conveyor.web.bulk_schemas",
    "conveyor.web.strict_json",
    "conveyor.web.dag_list",
}

#: ``tasks why`` is the scheduler's explanation: it imports the rules the scheduler decides
#: by (conveyor.scheduler.explain, with the DAG model's callbacks and the hop's lock).
WHY_NEEDS = (
    "conveyor.scheduler",
    "conveyor.engine",
    "conveyor.store.hop",
    "conveyor.model.dag",
    "conveyor.model.params",
    "jinja2",
    "jsonschema",
    "psycopg",
)

DAG_FILE = """\
from conveyor import DAG, Param, task

with DAG("reads", schedule="@daily", params={"limit": Param(5, type="integer")}):

    @task
    def extract() -> int:
        return 1

    @task
    def load(value: int) -> None:
        pass

    load(extract())
"""

#: The reads that print a DAG's structure (its tasks, its schedule) read its stored shapes.
SHAPES = ("conveyor.serialized", "croniter")

#: A parse that saves a DAG writes its assets and watchers too.
SAVES = (*SHAPES, "conveyor.store.datasets", "conveyor.store.asset_events")

#: Variables' and connections' values are stored encrypted.
SECRETS = ("cryptography",)

READS: list[tuple[list[str], tuple[str, ...]]] = [
    (["version"], ()),
    (["dags", "list"], ()),
    (["dags", "list", "-o", "json"], ()),
    (["dags", "show", "reads"], SHAPES),
    (["dags", "details", "reads"], SHAPES),
    (["dags", "list-runs", "reads"], ()),
    (["dags", "state", "reads", "RUN"], ()),
    (["dags", "report"], SHAPES),
    (["runs", "list"], ()),
    (["runs", "show", "reads", "latest"], ()),
    (["tasks", "list", "reads"], SHAPES),
    (["tasks", "list", "reads", "latest"], SHAPES),
    (["tasks", "state", "reads", "extract", "RUN"], ()),
    (["tasks", "why", "reads", "latest", "extract"], (*WHY_NEEDS, *SHAPES)),
    (["pools", "list"], ()),
    (["variables", "list"], SECRETS),
    (["variables", "get", "read_variable"], SECRETS),
    (["connections", "list"], SECRETS),
    (["config", "get-value", "core", "dags_folder"], ()),
]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["CONVEYOR_HOME"] = str(home)
    return env


def _conveyor(home: Path, report: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(report.read_text())
    assert found["code"] == 0, f"conveyor {' '.join(args)}: {done.stdout}{done.stderr}"
    found["stdout"] = done.stdout
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home whose store holds the DAG ``reads`` (parsed), one run of it, a variable and a
    connection; and that run's id."""
    home = tmp_path_factory.mktemp("reads")
    (home / "dags").mkdir()
    (home / "dags" / "reads.py").write_text(DAG_FILE)
    report = home / "setup.json"
    _conveyor(home, report, "dags", "list")  # creates the store and parses the file
    _conveyor(home, report, "dags", "trigger", "reads", "--run-id", "read_run")
    _conveyor(home, report, "variables", "set", "read_variable", "a value")
    _conveyor(home, report, "connections", "add", "read_db", "--conn-type", "postgres")
    return home, "read_run"


def _heavy(modules: list[str], allowed: tuple[str, ...]) -> list[str]:
    def covered(name: str, prefixes: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    web_app = {m for m in modules if covered(m, ("conveyor.web",)) and m not in WEB_READ_MODEL}
    heavy = {m for m in modules if covered(m, HEAVY) and not covered(m, allowed)}
    return sorted(web_app | heavy)


@pytest.mark.parametrize(("args", "allowed"), READS, ids=[" ".join(a) for a, _ in READS])
def test_a_read_command_imports_no_heavy_module(
    home: tuple[Path, str], tmp_path: Path, args: list[str], allowed: tuple[str, ...]
) -> None:
    folder, run_id = home
    args = [run_id if a == "RUN" else a for a in args]
    found = _conveyor(folder, tmp_path / "found.json", *args)
    assert _heavy(found["modules"], allowed) == []
    if args[:2] == ["dags", "list"]:  # it did read the store
        assert "reads" in found["stdout"]


#: A command that reads no store loads no database library at all.
STORELESS = (["version"], ["config", "get-value", "core", "dags_folder"])


@pytest.mark.parametrize("args", STORELESS, ids=[" ".join(a) for a in STORELESS])
def test_a_command_that_reads_no_store_loads_no_database_library(
    home: tuple[Path, str], tmp_path: Path, args: list[str]
) -> None:
    found = _conveyor(home[0], tmp_path / "found.json", *args)
    assert [m for m in found["modules"] if m.split(".")[0] == "sqlalchemy"] == []
    assert [m for m in found["modules"] if m.startswith("conveyor.store.")] == []


def _what_a_parse_imports() -> set[str]:
    """The modules a parse child needs (``PARSE_MODULES`` and all they import)."""
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, json, sys; from conveyor._processes import PARSE_MODULES; "
            "[importlib.import_module(m) for m in PARSE_MODULES]; "
            "print(json.dumps(list(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(listed.stdout))


def test_a_new_dag_file_is_parsed_by_the_next_listing(
    home: tuple[Path, str], tmp_path: Path
) -> None:
    """The scan still finds what changed and a fork of the command parses it: the command
    imports what a parse needs then (once, for all its children), and nothing else heavy;
    the next listing, with nothing changed, none of it."""
    folder, _ = home
    (folder / "dags" / "added.py").write_text(DAG_FILE.replace('"reads"', '"added"'))
    parsing = _what_a_parse_imports()
    try:
        found = _conveyor(folder, tmp_path / "found.json", "dags", "list", "-o", "plain")
        assert "added" in found["stdout"].split()
        assert "conveyor.loading.importer" in found["modules"]
        assert _heavy([m for m in found["modules"] if m not in parsing], SAVES) == []
        again = _conveyor(folder, tmp_path / "again.json", "dags", "list", "-o", "plain")
        assert "added" in again["stdout"].split()
        assert _heavy(again["modules"], ()) == []
    finally:
        (folder / "dags" / "added.py").unlink()


# -- the schema check without Alembic ------------------------------------------------------


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    assert schema_version.head_revision() == schema.head_revision()


def _set_revision(store: Store, revision: str | None) -> None:
    with store.write() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})


def test_only_the_newest_revision_is_known_current(store: Store) -> None:
    assert schema_version.known_current(store)
    _set_revision(store, "0001")
    assert not schema_version.known_current(store)
    _set_revision(store, None)
    assert not schema_version.known_current(store)


def test_an_empty_store_is_not_known_current(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert schema_version.recorded_revision(store) is None
        assert not schema_version.known_current(store)
    finally:
        store.dispose()


REFUSED = "is not current: run `conveyor db migrate`"


@pytest.mark.postgres
def test_an_old_postgresql_schema_is_still_refused(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path))
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", pg_database_url)
    old = Store(pg_database_url)
    try:
        _set_revision(old, "0027")
    finally:
        old.dispose()
    # A command's context: it disposes of the store open_store made, as a command line does.
    with click.Context(click.Command("read")), pytest.raises(StoreError, match=REFUSED):
        open_store(load_config().settings)


def test_an_empty_sqlite_store_is_still_created(tmp_path: Path) -> None:
    config = load_config({"CONVEYOR_HOME": str(tmp_path)}).settings
    store = open_store(config)
    try:
        assert schema.current_revision(store) == schema.head_revision()
    finally:
        store.dispose()
