"""The DAG file processor's parses wait for a loop to save them, and a slow loop (a loaded
machine, a long scheduling pass) must not make them pile up: at most ``max_unsaved`` wait,
the other files wait as paths, and a file whose parse is not saved yet is not parsed again.
Before, a loop slower than the parsing thread held every parse it had not saved (the
production day's main process grew by 30 MiB in four minutes under load)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store

DAG_FILE = """\
from conveyor import DAG, EmptyOperator

with DAG({dag_id!r}, schedule=None):
    EmptyOperator(task_id="t")
"""


@pytest.fixture
def store_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The embedded store alone: what is tested is the processor's own queue."""
    path = tmp_path / "conveyor.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def processor_of(
    tmp_path: Path, store: Store, *, files: int, reparse_every: float, **options: int
) -> DagFileProcessor:
    """A processor of a folder of ``files`` one-task DAG files, scanning at every poll."""
    folder = tmp_path / "dags"
    folder.mkdir()
    for n in range(files):
        (folder / f"backlog_{n}.py").write_text(DAG_FILE.format(dag_id=f"backlog_{n}"))
    return DagFileProcessor(
        store,
        folder,
        timeout=30,
        scan_every=0,
        reparse_every=reparse_every,
        paused_at_creation=False,
        **options,
    )


def wait_for_unsaved(processor: DagFileProcessor, count: int) -> None:
    """Until ``count`` parses wait to be saved, then a second more of the parsing thread
    running with no loop saving, as behind a slow loop."""
    deadline = time.monotonic() + 60
    while processor.unsaved() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)


def test_parses_a_slow_loop_has_not_saved_stay_bounded(tmp_path: Path, store: Store) -> None:
    processor = processor_of(tmp_path, store, files=8, reparse_every=3600, max_unsaved=3)
    assert processor.poll() == 0  # scans: every file queued, nothing parsed yet
    wait_for_unsaved(processor, 3)

    assert processor.unsaved() == 3  # the parsing thread stopped there, the rest wait
    assert processor.busy()
    saved = 0
    deadline = time.monotonic() + 30
    while processor.busy() and time.monotonic() < deadline:
        saved += processor.poll()
        time.sleep(0.05)
    assert saved == 8  # taking the waiting ones let the parsing go on to every file, once
    processor.stop()


def test_a_file_is_not_parsed_again_while_its_parse_waits(tmp_path: Path, store: Store) -> None:
    # Every scan finds every file due again.
    processor = processor_of(tmp_path, store, files=4, reparse_every=0)
    processor.poll()
    wait_for_unsaved(processor, 4)
    assert processor.unsaved() == 4

    assert processor.poll() == 4  # its scan finds all four parsed, not saved: none queued
    time.sleep(1.0)  # time for a parse, had one started
    assert processor.unsaved() == 0
    assert not processor.busy()
    processor.stop()
