"""A parse child takes one waiting file after another (``dag_parse_files_per_process``), each
seeing what a fresh process would of the DAG folder: its helper modules, ``sys.path``, the
environment and the working folder are put back between files. A file that hangs or kills
its child holds up only that child; the files after it are parsed by the next."""

from __future__ import annotations

import json
import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_version, import_error


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    path = tmp_path / "conveyor.db"
    shutil.copy(sqlite_template, path)
    opened = Store(f"sqlite:///{path}")
    yield opened
    opened.dispose()


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))


def noting_dag(dag_id: str, notes: Path, before: str = "") -> str:
    """A DAG file that notes, as it is imported, its process and what it sees."""
    return f"""\
import json, os, sys
from datetime import datetime
from conveyor import DAG, EmptyOperator
{textwrap.dedent(before)}
with open({str(notes)!r}, "a") as out:
    out.write(json.dumps({{
        "dag": {dag_id!r},
        "pid": os.getpid(),
        "env": os.environ.get("SET_BY_A_FILE"),
        "cwd": os.getcwd(),
        "path_entry": "/set/by/a/file" in sys.path,
        "counter": sys.modules["common"].COUNTER if "common" in sys.modules else None,
    }}) + "\\n")
with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="a")
"""


def read_notes(notes: Path) -> dict[str, dict[str, Any]]:
    return {n["dag"]: n for n in map(json.loads, notes.read_text().splitlines())}


def parse_all(store: Store, folder: Path, **kwargs: Any) -> None:
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("reparse_every", 3600)
    DagFileProcessor(store, folder, scan_every=0.05, **kwargs).sync()


def registered(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(dag.c.dag_id)).scalars())


def test_one_child_parses_many_files_each_as_a_fresh_process_sees_it(
    tmp_path: Path, store: Store
) -> None:
    folder, notes = tmp_path / "dags", tmp_path / "notes.jsonl"
    write(folder, "common.py", "COUNTER = 0\n")
    changer = """
        import os, sys
        import common
        common.COUNTER += 1
        os.environ["SET_BY_A_FILE"] = "yes"
        sys.path.append("/set/by/a/file")
        os.chdir("/")
    """
    # Files in name order, one child: each changer is followed by a file that changes
    # nothing and must see none of it.
    for i in range(6):
        before = changer if i % 2 == 0 else ""
        write(folder, f"dag_{i}.py", noting_dag(f"dag_{i}", notes, before=before))
    parse_all(store, folder, max_parallel=1, files_per_child=20)

    seen = read_notes(notes)
    assert registered(store) == {f"dag_{i}" for i in range(6)}
    assert len({n["pid"] for n in seen.values()}) == 1  # one child parsed them all
    for i in range(6):
        note = seen[f"dag_{i}"]
        if i % 2 == 0:
            assert note["counter"] == 1, f"dag_{i} saw another file's helper module"
            assert note["env"] == "yes" and note["path_entry"]
        else:
            assert note == {**note, "counter": None, "env": None, "path_entry": False}
            assert note["cwd"] != "/"  # where a fresh process starts
    # Only the files that imported the helper ship it with their version.
    with store.read() as conn:
        versions = conn.execute(select(dag_version.c.dag_id, dag_version.c.serialized))
        shipped = {row.dag_id: row.serialized.get("shipped") for row in versions}
    for i in range(6):
        files = (shipped[f"dag_{i}"] or {}).get("files", {})
        assert ("common.py" in files) == (i % 2 == 0), f"dag_{i} ships {sorted(files)}"


def test_files_per_process_of_one_gives_every_file_a_child(tmp_path: Path, store: Store) -> None:
    folder, notes = tmp_path / "dags", tmp_path / "notes.jsonl"
    for i in range(4):
        write(folder, f"dag_{i}.py", noting_dag(f"dag_{i}", notes))
    parse_all(store, folder, max_parallel=1, files_per_child=1)
    assert len({n["pid"] for n in read_notes(notes).values()}) == 4


def test_a_child_is_let_go_after_its_share_of_files(tmp_path: Path, store: Store) -> None:
    folder, notes = tmp_path / "dags", tmp_path / "notes.jsonl"
    for i in range(7):
        write(folder, f"dag_{i}.py", noting_dag(f"dag_{i}", notes))
    parse_all(store, folder, max_parallel=1, files_per_child=3)
    assert len({n["pid"] for n in read_notes(notes).values()}) == 3  # 3, 3 and 1 files


def test_a_hanging_file_holds_up_only_its_own_child(tmp_path: Path, store: Store) -> None:
    folder, notes = tmp_path / "dags", tmp_path / "notes.jsonl"
    write(folder, "a_hangs.py", "# a conveyor dag file\nimport time\ntime.sleep(120)\n")
    for i in range(5):
        write(folder, f"dag_{i}.py", noting_dag(f"dag_{i}", notes))
    proc = DagFileProcessor(
        store, folder, timeout=60, scan_every=0.05, max_parallel=2, files_per_child=20
    )
    started = time.monotonic()
    try:
        while registered(store) != {f"dag_{i}" for i in range(5)}:
            assert time.monotonic() - started < 20, "the files waited for the hanging one"
            proc.poll()
            time.sleep(0.05)
    finally:
        proc.stop()


def test_a_file_that_kills_its_child_fails_alone_and_the_next_files_parse(
    tmp_path: Path, store: Store
) -> None:
    folder, notes = tmp_path / "dags", tmp_path / "notes.jsonl"
    write(folder, "dag_0.py", noting_dag("dag_0", notes))
    write(folder, "dag_1_dies.py", "# a conveyor dag file\nimport os\nos._exit(7)\n")
    for i in range(2, 5):
        write(folder, f"dag_{i}.py", noting_dag(f"dag_{i}", notes))
    parse_all(store, folder, max_parallel=1, files_per_child=20)

    assert registered(store) == {"dag_0", "dag_2", "dag_3", "dag_4"}
    with store.read() as conn:
        errors = {Path(r.fileloc).name: r.message for r in conn.execute(select(import_error))}
    assert list(errors) == ["dag_1_dies.py"]
    assert "exit status 7" in errors["dag_1_dies.py"]
    seen = read_notes(notes)
    assert seen["dag_0"]["pid"] != seen["dag_2"]["pid"]  # a new child after the death
