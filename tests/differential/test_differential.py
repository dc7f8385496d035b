"""The differential suite: Conveyor against what a real Airflow did with the same DAG files.

Each file of ``dags/af3`` (Airflow 3's spelling) and ``dags/af2`` (Airflow 2's) pins one
behaviour. ``scripts/record-airflow-behaviour`` ran them on Airflow 3.3.2 and 2.10.5 with
``airflow dags test`` and wrote ``expected/airflow-<version>/<dag_id>.json``: the run's state,
each task instance's state and tries, the values the tasks recorded (``dags/difrec.py``, in
the order each instance wrote them) and the DAGs the file defines. No Airflow is installed
here: Conveyor runs the same folder on both of its paths and must give the same data:

- ``dags test``: what ``conveyor dags test`` does for one DAG (a throwaway SQLite store,
  ``DagsTestScheduler`` and the local executor), done once for every DAG of the folder;
- scheduled: a real ``conveyor scheduler`` process with the local executor on PostgreSQL,
  every DAG's run triggered together.

``marks.json`` says what is not (yet) the same: ``pending`` differences are strict expected
failures (a pending case that matches fails, so its mark goes when the fix lands),
``deliberate`` ones are Conveyor's on purpose (docs/airflow.md, "Differences that remain"),
``paths`` limits a DAG to the paths the behaviour is about, and ``issue62`` names the
behaviours the first comparison found (a check of their own: ``-k issue62``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cli_processes import cli_process
from conftest import _with_database
from conveyor.cli.run import DagsTestScheduler
from conveyor.cli.test_runs import start_test_run
from conveyor.config import load_config
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RUN_FINISHED
from conveyor.store import pools, runs, schema, trigger
from conveyor.store.engine import Store
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.triggerer.process import beside as triggerer_beside
from differential import services

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
EXPECTED = HERE / "expected"
MARKS = json.loads((HERE / "marks.json").read_text())
LOGICAL = datetime(2026, 1, 1, tzinfo=UTC)
#: Which Airflow each spelling was recorded on.
RECORDED_ON = {"af3": "airflow-3.3.2", "af2": "airflow-2.10.5"}
#: How long all runs of one path may take together (they take about a minute).
PATH_TIMEOUT = 240.0


def _recorder() -> Any:
    """The recording script's module, for its grouping of records (it imports no Airflow
    at the top; Airflow is imported only in its ``main``)."""
    spec = importlib.util.spec_from_file_location("airflow_recorder", HERE / "airflow_recorder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _suite_environment() -> dict[str, str]:
    """The variables and connection of ``environment.sh``, as Airflow's tasks had them."""
    values = {}
    for line in (HERE / "environment.sh").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = shlex.split(value)[0]
    return values


def _expectations() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for spelling, recorded_on in RECORDED_ON.items():
        for path in sorted((EXPECTED / recorded_on).glob("[!_]*.json")):
            data = json.loads(path.read_text())
            if data["file"].startswith(f"{spelling}/"):
                found[data["dag_id"]] = data
    return found


def _file_expectations() -> dict[str, list[str] | None]:
    """Which DAGs each file defines on Airflow (None: the file fails to import there)."""
    found: dict[str, list[str] | None] = {}
    for spelling, recorded_on in RECORDED_ON.items():
        files = json.loads((EXPECTED / recorded_on / "_files.json").read_text())
        found.update({f: ids for f, ids in files.items() if f.startswith(f"{spelling}/")})
    return found


EXPECTATIONS = _expectations()
FILES = _file_expectations()


@dataclass
class Outcome:
    """What one path of Conveyor did with every DAG of the folder, in the recorded shape."""

    runs: dict[str, dict[str, Any]]
    defined: dict[str, list[str] | None]  # file (relative to dags/) -> DAG ids
    refused: dict[str, str]  # dag_id -> why its run could not be made


def _task_states(store: Store, run_pk: int) -> dict[str, Any]:
    with store.read() as conn:
        run = runs.get_run(conn, run_pk)
        tasks = {}
        for ti in task_reads.instances(conn, run_pk):
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            tasks[key] = {"state": ti.state, "tries": ti.try_number}
    return {"run_state": run.state.value, "tasks": tasks}


def _defined(store: Store) -> dict[str, list[str] | None]:
    """The DAGs each file defines here; None for a file that fails to load."""
    by_file: dict[str, list[str] | None] = {}
    with store.read() as conn:
        for error in dag_reads.import_errors(conn):
            by_file[str(Path(error.fileloc).relative_to(DAGS))] = None
        for row in dag_reads.list_dag_rows(conn):
            ids = by_file.setdefault(str(Path(row.fileloc).relative_to(DAGS)), [])
            if ids is not None:
                ids.append(row.dag_id)
    return {file: None if ids is None else sorted(ids) for file, ids in by_file.items()}


def _collect(
    store: Store, run_pks: dict[str, int], records: Path, refused: dict[str, str]
) -> Outcome:
    recorder = _recorder()
    outcome: dict[str, dict[str, Any]] = {}
    for dag_id, run_pk in run_pks.items():
        with store.read() as conn:
            run_id = runs.get_run(conn, run_pk).run_id
        outcome[dag_id] = {
            **_task_states(store, run_pk),
            "records": recorder._records(records / f"{dag_id}.jsonl", run_id),
        }
    return Outcome(outcome, _defined(store), refused)


def _wait_for_runs(store: Store, run_pks: dict[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as conn:
            left = [
                d for d, pk in run_pks.items() if runs.get_run(conn, pk).state not in RUN_FINISHED
            ]
        if not left:
            return
        time.sleep(0.5)
    raise AssertionError(f"runs still unfinished after {timeout:g}s: {sorted(left)}")


def _trigger_all(
    store: Store, dag_ids: list[str], *, as_dags_test: bool
) -> tuple[dict[str, int], dict[str, str]]:
    """A run at the recorded logical date for each DAG: made as ``conveyor dags test`` makes
    it (named after the time of the call), or as a trigger of the scheduled path."""
    made: dict[str, int] = {}
    refused: dict[str, str] = {}
    with store.write() as conn:
        known = set(dag_reads.active_dag_ids(conn))
    for dag_id in dag_ids:
        if dag_id not in known:
            refused[dag_id] = "not loaded"
            continue
        try:
            if as_dags_test:
                made[dag_id] = start_test_run(store, dag_id, LOGICAL, None, "differential suite").id
                continue
            with store.write() as conn:
                run = trigger.trigger_run(
                    conn, dag_id, created_by="differential suite", logical_date=LOGICAL
                )
                structure = runs.serialized_dag(conn, run.version_hash)
                pools.create_missing(conn, {t.pool for t in structure.tasks.values()}, "suite")
        except Exception as error:  # the run could not be made: compared as such
            refused[dag_id] = f"{type(error).__name__}: {error}"
            continue
        made[dag_id] = run.id
    return made, refused


@pytest.fixture(scope="module")
def provider_services() -> Iterator[services.Services]:
    """The servers the provider DAGs talk to (``services.py``, as when recording)."""
    running = services.start()
    if running.unavailable and os.environ.get("CI") == "true":
        running.stop()
        pytest.fail(f"the provider DAGs' services must run in CI: {running.unavailable}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def suite_env(
    tmp_path_factory: pytest.TempPathFactory, provider_services: services.Services
) -> Iterator[dict[str, str]]:
    """The environment tasks run in on both paths: the suite's variables and connections,
    those of the provider DAGs' services, and the folder where ``difrec`` writes."""
    tmp = tmp_path_factory.mktemp("differential")
    extra = {
        **_suite_environment(),
        **provider_services.env,
        "DIFFSUITE_RECORDS": str(tmp / "records"),
    }
    before = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    yield extra
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def dags_test_path(
    suite_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    """Every DAG through what ``conveyor dags test`` does, on one throwaway store."""
    tmp = tmp_path_factory.mktemp("dags-test")
    records = tmp / "records"
    records.mkdir()
    os.environ["DIFFSUITE_RECORDS"] = str(records)
    config = load_config(
        dict(os.environ),
        home=str(tmp / "home"),
        database_url=f"sqlite:///{tmp / 'test.db'}",
        dags_folder=str(DAGS),
        scheduler_loop_seconds=0.1,
    ).settings
    store = Store(config.db_url)
    try:
        schema.migrate(store)
        DagFileProcessor(
            store,
            DAGS,
            timeout=config.parse_timeout_seconds,
            scan_every=1.0,
            paused_at_creation=None,
            plugins_folder=config.plugins_path,
        ).sync()
        run_pks, refused = _trigger_all(store, sorted(EXPECTATIONS), as_dags_test=True)
        scheduler = DagsTestScheduler(config, store, LocalExecutor(config), processor=None)
        deadline = time.monotonic() + PATH_TIMEOUT

        def finished() -> bool:
            with store.read() as conn:
                done = all(runs.get_run(conn, pk).state in RUN_FINISHED for pk in run_pks.values())
            return done or time.monotonic() > deadline

        with triggerer_beside(config):
            scheduler.run(until=finished)
        _wait_for_runs(store, run_pks, 1.0)
        yield _collect(store, run_pks, records, refused)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def scheduled_path(
    suite_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    pg_url: str,
    pg_admin: psycopg.Connection[Any],
    pg_template: str,
) -> Iterator[Outcome]:
    """Every DAG's run triggered together under a real scheduler (local executor, PostgreSQL)."""
    tmp = tmp_path_factory.mktemp("scheduled")
    records = tmp / "records"
    records.mkdir()
    name = f"conveyor_diff_{os.getpid()}"
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg_admin.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    url = _with_database(pg_url, name)
    env = {
        **os.environ,
        **suite_env,
        "DIFFSUITE_RECORDS": str(records),
        "CONVEYOR_HOME": str(tmp / "home"),
        "CONVEYOR_DATABASE_URL": url,
        "CONVEYOR_DAGS_FOLDER": str(DAGS),
        "CONVEYOR_EXECUTOR": "local",
        "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
        "CONVEYOR_DAG_SCAN_SECONDS": "0.5",
    }
    store = Store(url)
    try:
        with cli_process(["scheduler"], env) as scheduler:
            _wait_for_parsing(store, 120.0)
            run_pks, refused = _trigger_all(store, sorted(EXPECTATIONS), as_dags_test=False)
            _wait_for_runs(store, run_pks, PATH_TIMEOUT)
            assert scheduler.returncode is None, scheduler.output
        yield _collect(store, run_pks, records, refused)
    finally:
        store.dispose()
        pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _wait_for_parsing(store: Store, timeout: float) -> None:
    """Until every file of the folder was parsed: it defines a DAG or has an import error
    (a file that defines none and loads is not seen: its absence ends the wait at the
    timeout, and its comparison says so)."""
    files = {str(p.relative_to(DAGS)) for p in DAGS.glob("af*/*.py")}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as conn:
            rows = dag_reads.list_dag_rows(conn)
            errors = dag_reads.import_errors(conn)
        seen = {str(Path(r.fileloc).relative_to(DAGS)) for r in rows}
        seen |= {str(Path(e.fileloc).relative_to(DAGS)) for e in errors}
        if files - seen <= {f for f, ids in FILES.items() if not ids}:
            return
        time.sleep(0.5)


def _actual(outcome: Outcome, dag_id: str, file: str) -> dict[str, Any]:
    if dag_id in outcome.refused:
        return {"run_state": f"no run: {outcome.refused[dag_id]}", "tasks": {}, "records": {}}
    return outcome.runs[dag_id]


def _expected(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("run_state", "tasks", "records")}


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("run_state",):
        if expected.get(key) != actual.get(key):
            lines.append(f"{key}: Airflow {expected.get(key)!r}, Conveyor {actual.get(key)!r}")
    for task in sorted(set(expected["tasks"]) | set(actual.get("tasks", {}))):
        want, got = expected["tasks"].get(task), actual.get("tasks", {}).get(task)
        if want != got:
            lines.append(f"task {task}: Airflow {want}, Conveyor {got}")
    for task in sorted(set(expected["records"]) | set(actual.get("records", {}))):
        want, got = expected["records"].get(task), actual.get("records", {}).get(task)
        if want != got:
            lines.append(f"records of {task}: Airflow {want}, Conveyor {got}")
    return lines


def _cases() -> list[Any]:
    cases = []
    for path in ("dags_test", "scheduled"):
        for dag_id in sorted(EXPECTATIONS):
            paths = MARKS["paths"].get(dag_id, ["dags_test", "scheduled"])
            if path not in paths:
                continue
            marks = [pytest.mark.postgres] if path == "scheduled" else []
            label = f"{path}-{dag_id}" + ("-issue62" if dag_id in MARKS["issue62"] else "")
            cases.append(pytest.param(path, dag_id, id=label, marks=marks))
    return cases


@pytest.mark.timeout(PATH_TIMEOUT + 300)
@pytest.mark.parametrize(("path", "dag_id"), _cases())
def test_behaves_as_airflow(request: pytest.FixtureRequest, path: str, dag_id: str) -> None:
    outcome: Outcome = request.getfixturevalue(f"{path}_path")
    _skip_without_service(request, dag_id)
    data = EXPECTATIONS[dag_id]
    lines = _differences(_expected(data), _actual(outcome, dag_id, data["file"]))
    _report(path, dag_id, lines)
    _judge(dag_id, path, lines, f"{dag_id} ({data['file']}) differs from Airflow {data['airflow']}")


def _skip_without_service(request: pytest.FixtureRequest, dag_id: str) -> None:
    """A provider DAG whose server cannot run on this machine is skipped, saying why."""
    running: services.Services = request.getfixturevalue("provider_services")
    needed = services.needed_by(dag_id)
    if needed in running.unavailable:
        pytest.skip(f"{dag_id} needs {needed}: {running.unavailable[needed]}")


def _report(path: str, key: str, lines: list[str]) -> None:
    """With DIFFSUITE_REPORT set, every comparison is also written there as a JSON line
    (what to read when marking: the pytest output cuts long lines)."""
    target = os.environ.get("DIFFSUITE_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"path": path, "key": key, "differences": lines}) + "\n")


def _judge(key: str, path: str, lines: list[str], title: str) -> None:
    """Pass when nothing differs; a pending mark is a strict expected failure, a deliberate
    one a skip that must still differ."""
    pending = MARKS["pending"].get(key) or MARKS["pending"].get(f"{path}:{key}")
    deliberate = MARKS["deliberate"].get(key)
    if deliberate is not None:
        assert lines, f"{key} is marked a deliberate difference but matches Airflow now"
        pytest.skip(f"deliberate: {deliberate}")
    if pending is not None:
        if lines:
            pytest.xfail(f"pending: {pending}")
        pytest.fail(f"{key} matches Airflow now: remove its pending mark ({pending})")
    assert not lines, title + ":\n" + "\n".join(lines)


def _file_cases() -> list[Any]:
    return [
        pytest.param(f, id=f + ("-issue62" if f"file:{f}" in MARKS["issue62"] else ""))
        for f in sorted(FILES)
    ]


@pytest.mark.timeout(PATH_TIMEOUT + 300)
@pytest.mark.parametrize("file", _file_cases())
def test_defines_the_same_dags(dags_test_path: Outcome, file: str) -> None:
    """Which DAGs a file defines: those in its globals and those used with `with`."""
    actual = dags_test_path.defined.get(file, [])
    lines = [] if actual == FILES[file] else [f"Airflow {FILES[file]}, Conveyor {actual}"]
    _report("dags_test", f"file:{file}", lines)
    _judge(f"file:{file}", "dags_test", lines, f"{file} defines other DAGs than on Airflow")


def test_the_suite_is_big_enough() -> None:
    """Well over 100 behaviours, every mark naming a recorded DAG."""
    assert len(EXPECTATIONS) >= 120
    for section in ("pending", "deliberate", "paths"):
        for key in MARKS[section]:
            known = key.removeprefix("file:") in FILES or key.split(":")[-1] in EXPECTATIONS
            assert known, f"{section} names unknown {key}"
    for key in MARKS["issue62"]:
        assert key.removeprefix("file:") in FILES or key in EXPECTATIONS, f"issue62 names {key}"


def test_the_docs_list_what_the_suite_marks_deliberate() -> None:
    """docs/airflow.md's "Differences that remain" names exactly the deliberate marks."""
    text = (HERE.parents[1] / "docs" / "airflow.md").read_text()
    section = text.split("\n## Differences that remain\n", 1)[1].split("\n## ", 1)[0]
    bullets = [b.split("\n\n")[0].strip() for b in section.split("\n- ")[1:]]
    named = {re.findall(r"\(`([a-z0-9_]+)`\)\.?$", b)[-1] for b in bullets}
    assert named == set(MARKS["deliberate"])
