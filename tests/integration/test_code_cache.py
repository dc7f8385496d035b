"""The code a try runs is the code that was parsed and stored.

- Many processes on one host loading a new version at once all succeed (they used to share
  one temporary file in the code cache, and 6 of 200 failed).
- A DAG file rewritten within the same second at the same size runs its new text, not the
  bytecode cached for the old one.
- The helper modules a DAG file imports from its folder travel with it: a process (and a
  real Celery worker) with no DAG folder loads the DAG and runs its tasks.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from celery_workers import require_redis, start_worker
from conftest import make_settings, runs_finished
from conveyor.executors.celery_app import make_app
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading import code_cache
from conveyor.loading.importer import import_dag_file
from conveyor.loading.processor import parse_file
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_try, xcom

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"
BROKER = "redis://127.0.0.1:6379/12"

USES_HELPERS = """
    from conveyor import DAG, task

    import shout_helper
    from toolbox.text import frame

    with DAG("uses_helpers"):
        @task
        def speak():
            return frame(shout_helper.shout("hello"))

        speak()
"""
PLAIN = """
    from conveyor import DAG, EmptyOperator

    with DAG("plain"):
        EmptyOperator(task_id="only")
"""
SHOUT = "def shout(text):\n    return text.upper() + '!'\n"
FRAME = "from .marks import LEFT, RIGHT\n\ndef frame(text):\n    return LEFT + text + RIGHT\n"
MARKS = "LEFT = '['\nRIGHT = ']'\n"


def _write_dag_folder(dags: Path) -> None:
    dags.mkdir(parents=True)
    (dags / "uses_helpers.py").write_text(textwrap.dedent(USES_HELPERS))
    (dags / "plain.py").write_text(textwrap.dedent(PLAIN))
    (dags / "shout_helper.py").write_text(SHOUT)
    (dags / "toolbox").mkdir()
    (dags / "toolbox" / "__init__.py").write_text("")
    (dags / "toolbox" / "text.py").write_text(FRAME)
    (dags / "toolbox" / "marks.py").write_text(MARKS)
    # The YAML example and the helpers package it names, in the same layout as examples/.
    (dags / "yaml").mkdir()
    shutil.copy(EXAMPLES / "yaml" / "branching.yaml", dags / "yaml" / "branching.yaml")
    shutil.copytree(EXAMPLES / "helpers", dags / "helpers")


def _parse_in_a_fresh_process(dags: Path, url: str, home: Path) -> None:
    """What a scheduler does, in a process that has imported nothing from any DAG folder
    (this test process has: its sys.path and modules would leak into forked parse children).
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    environ.update(
        CONVEYOR_HOME=str(home),
        CONVEYOR_DAGS_FOLDER=str(dags),
        CONVEYOR_DATABASE_URL=url,
        CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION="false",  # the runs made below start at once
    )
    done = subprocess.run(
        [CONVEYOR, "dags", "list"], env=environ, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def parsed(tmp_path: Path) -> Iterator[tuple[Store, dict[str, str]]]:
    """A SQLite store holding the parsed folder; the folder itself is gone afterwards."""
    dags = tmp_path / "dags"
    _write_dag_folder(dags)
    store = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(store)
    _parse_in_a_fresh_process(dags, store.url, tmp_path / "home")
    with store.read() as conn:
        versions = dict(conn.execute(select(dag.c.dag_id, dag.c.version_hash)).all())
    shutil.rmtree(dags)  # no process from here on can read the DAG folder
    try:
        yield store, versions
    finally:
        store.dispose()


def _load_in_child(url: str, version: str, dag_id: str, cache: str, barrier: Any, out: Any) -> None:
    store = Store(url, pool=False)
    try:
        barrier.wait(timeout=60)  # every process starts loading at the same moment
        with store.read() as conn:
            loaded = code_cache.load_pinned_dag(conn, version, dag_id, Path(cache))
        out.put(("ok", sorted(loaded.task_ids)))
    except BaseException as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        store.dispose()


@pytest.mark.parametrize("dag_id", ["plain", "branching_yaml"])
def test_many_processes_load_a_new_version_at_once(
    tmp_path: Path, parsed: tuple[Store, dict[str, str]], dag_id: str
) -> None:
    store, versions = parsed
    context = multiprocessing.get_context("fork")
    count, rounds = 24, 3  # a race: a few rounds, each on an empty code cache
    errors: list[str] = []
    for round_number in range(rounds):
        barrier, out = context.Barrier(count), context.Queue()
        cache = tmp_path / f"worker-home-{round_number}" / "code"
        children = [
            context.Process(
                target=_load_in_child,
                args=(store.url, versions[dag_id], dag_id, str(cache), barrier, out),
            )
            for _ in range(count)
        ]
        for child in children:
            child.start()
        results = [out.get(timeout=120) for _ in children]
        for child in children:
            child.join(timeout=30)
        errors += [detail for kind, detail in results if kind == "error"]
        assert len({tuple(detail) for _, detail in results}) == 1, results
        leftovers = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
        assert not leftovers, leftovers
    assert not errors, f"{len(errors)} of {count * rounds} loads failed: {errors[:3]}"


def test_helpers_are_loaded_from_the_store_without_the_dag_folder(
    tmp_path: Path, parsed: tuple[Store, dict[str, str]]
) -> None:
    store, versions = parsed
    assert _in_a_forked_child(_with_store, _run_speak, store.url, versions, tmp_path) == "[HELLO!]"


def _in_a_forked_child(target: Any, *args: Any) -> Any:
    """What ``target(*args, out)`` puts on ``out``, run in a forked child: what it imports
    from a DAG folder or the code cache stays out of this test process."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=target, args=(*args, out))
    child.start()
    result = out.get(timeout=60)
    child.join(timeout=30)
    return result


def _with_store(target: Any, url: str, versions: dict[str, str], tmp: Path, out: Any) -> None:
    """Puts on ``out`` what ``target(store, versions, tmp)`` returns, or the exception it
    raised as a line, on a Store of its own (for :func:`_in_a_forked_child`)."""
    store = Store(url, pool=False)
    try:
        out.put(target(store, versions, tmp))
    except BaseException as exc:
        out.put(f"{type(exc).__name__}: {exc}")
    finally:
        store.dispose()


def _run_speak(store: Store, versions: dict[str, str], tmp: Path) -> Any:
    with store.read() as conn:
        loaded = code_cache.load_pinned_dag(
            conn, versions["uses_helpers"], "uses_helpers", tmp / "home" / "code"
        )
    return loaded.get_task("speak").python_callable()  # type: ignore[attr-defined]


def test_a_process_keeps_its_newest_versions_and_lets_the_oldest_go(
    tmp_path: Path, parsed: tuple[Store, dict[str, str]]
) -> None:
    store, versions = parsed
    result = _in_a_forked_child(_with_store, _load_past_the_bound, store.url, versions, tmp_path)
    assert result == {
        "plain kept": True,
        "plain let go": True,
        "its module let go": True,
        "loaded again": ["only"],
        "yaml let go in turn": True,
    }, result


def _load_past_the_bound(store: Store, versions: dict[str, str], tmp: Path) -> Any:
    """With room for one version: a second version pushes the first (and its module) out,
    and the first loads again when asked for."""
    code_cache.KEPT_VERSIONS = 1
    cache = tmp / "home" / "code"
    plain, yaml = versions["plain"], versions["branching_yaml"]
    with store.read() as conn:
        before = set(sys.modules)
        code_cache.load_pinned_dag(conn, plain, "plain", cache)
        kept = code_cache.loaded_dag(plain, "plain") is not None
        (module,) = [n for n in set(sys.modules) - before if n.startswith("conveyor_dags.")]
        code_cache.load_pinned_dag(conn, yaml, "branching_yaml", cache)
        return {
            "plain kept": kept,
            "plain let go": code_cache.loaded_dag(plain, "plain") is None,
            "its module let go": module not in sys.modules,
            "loaded again": sorted(
                code_cache.load_pinned_dag(conn, plain, "plain", cache).task_ids
            ),
            "yaml let go in turn": code_cache.loaded_dag(yaml, "branching_yaml") is None,
        }


def test_a_first_load_reads_the_version_once_and_keeps_its_structure(
    tmp_path: Path, parsed: tuple[Store, dict[str, str]]
) -> None:
    """A runner meets each DAG of a folder of 1,000 once: the source and the serialized DAG
    come in one read, and the structure the try's record plans with is parsed from it."""
    store, versions = parsed
    result = _in_a_forked_child(_with_store, _load_and_count_reads, store.url, versions, tmp_path)
    assert result == {"dag": "plain", "tasks": ["only"], "version reads": 1}, result


def _load_and_count_reads(store: Store, versions: dict[str, str], tmp: Path) -> Any:
    reads: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "dag_version" in statement:
            reads.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    with store.read() as conn:
        loaded = code_cache.load_pinned_dag(conn, versions["plain"], "plain", tmp / "code")
        structure = runs.serialized_dag(conn, versions["plain"])
    return {
        "dag": structure.dag_id,
        "tasks": sorted(loaded.task_ids),
        "version reads": len(reads),
    }


def _parse_in_child(path: str, root: Path, out: Any) -> None:
    out.put(parse_file(path, root))


def test_a_version_records_the_helpers_its_file_loaded(
    tmp_path: Path,
) -> None:
    dags = tmp_path / "dags"
    _write_dag_folder(dags)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_parse_in_child, args=(str(dags / "uses_helpers.py"), dags, out))
    child.start()
    first = out.get(timeout=60)
    child.join(timeout=30)
    assert first.error is None, first.error
    assert sorted(Path(p).relative_to(dags).as_posix() for p in first.helpers) == [
        "shout_helper.py",
        "toolbox/__init__.py",
        "toolbox/marks.py",
        "toolbox/text.py",
    ]
    shipped = first.dags[0]["shipped"]
    assert shipped["path"] == "uses_helpers.py" and len(shipped["files"]) == 4


def test_a_rewrite_in_the_same_second_at_the_same_size_runs_the_new_code(
    tmp_path: Path,
) -> None:
    path = tmp_path / "same_size.py"
    template = (
        "from conveyor import DAG, EmptyOperator\n\n"
        "with DAG('same_size'):\n    EmptyOperator(task_id='{task}')\n"
    )
    path.write_text(template.format(task="aaa"))
    stamp = path.stat()
    (old,) = import_dag_file(str(path), module_name="same_size_v1")
    assert old.task_ids == ["aaa"]
    path.write_text(template.format(task="bbb"))  # the same size...
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # ...and the same mtime
    assert path.stat().st_size == stamp.st_size
    (new,) = import_dag_file(str(path), module_name="same_size_v2")
    assert new.task_ids == ["bbb"]
    # What the processor stores is what runs: its text and its DAG agree.
    parsed = parse_file(str(path))
    assert "task_id='bbb'" in parsed.source
    assert [t["task_id"] for t in parsed.dags[0]["tasks"]] == ["bbb"]


# -- a real Celery worker that has no DAG folder ----------------------------------------------


@pytest.fixture
def worker_without_dags(
    tmp_path: Path, pg_database_url: str
) -> Iterator[tuple[Store, dict[str, str], Path]]:
    """The folder parsed into PostgreSQL, removed, and a worker started far from it."""
    require_redis(fail_in_ci=False)
    dags = tmp_path / "dags"
    _write_dag_folder(dags)
    store = Store(pg_database_url)
    _parse_in_a_fresh_process(dags, pg_database_url, tmp_path / "home")
    with store.read() as conn:
        versions = dict(conn.execute(select(dag.c.dag_id, dag.c.version_hash)).all())
    shutil.rmtree(dags)
    settings = make_settings(
        tmp_path, tmp_path / "nowhere", pg_database_url, executor="celery", broker_url=BROKER
    )
    make_app(settings).control.purge()
    cwd = tmp_path / "worker-cwd"
    cwd.mkdir()
    worker_home = tmp_path / "worker-home"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "PYTHONPATH"))}
    environ.update(
        CONVEYOR_HOME=str(worker_home),
        CONVEYOR_DATABASE_URL=pg_database_url,
        CONVEYOR_BROKER_URL=BROKER,
        CONVEYOR_HEARTBEAT_SECONDS="0.5",
    )
    log = tmp_path / "worker.log"
    try:
        with start_worker("default", "w_nodags@test", environ, log, db_url=None, cwd=cwd):
            yield store, versions, worker_home
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_celery_worker_without_the_dag_folder_runs_dags_that_import_helpers(
    tmp_path: Path, worker_without_dags: tuple[Store, dict[str, str], Path]
) -> None:
    store, _, worker_home = worker_without_dags
    settings = make_settings(
        tmp_path, tmp_path / "nowhere", store.url, executor="celery", broker_url=BROKER
    )
    with store.write() as conn:
        pks = [
            runs.create_manual_run(conn, "uses_helpers", created_by="test"),
            runs.create_manual_run(
                conn, "branching_yaml", created_by="test", conf={"mode": "weekday"}
            ),
        ]
    run_pks = [pk for pk in pks if pk is not None]
    scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor=None)
    done = runs_finished(store, run_pks)
    deadline = time.monotonic() + 90
    scheduler.run(until=lambda: done() or time.monotonic() > deadline)
    worker_log = (tmp_path / "worker.log").read_text()
    assert done(), f"runs did not finish; the worker said:\n{worker_log[-3000:]}"
    with store.read() as conn:
        states = dict(
            conn.execute(
                select(dag_run.c.dag_id, dag_run.c.state).where(dag_run.c.id.in_(run_pks))
            ).all()
        )
        spoken = conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run_pks[0], xcom.c.task_id == "speak")
        ).scalar()
        errors = conn.execute(select(task_try.c.error).where(task_try.c.error.is_not(None)))
        errors = errors.scalars().all()
    assert states == {"uses_helpers": "success", "branching_yaml": "success"}, errors
    assert spoken == "[HELLO!]"
    shipped = {p.name for p in (worker_home / "code").rglob("*.py")}
    assert {"shout_helper.py", "text.py", "marks.py", "yaml_callables.py"} <= shipped
