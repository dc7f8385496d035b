"""Schedulers sharing a store share the periodic parse of each DAG file.

Every file is parsed again ``min_file_process_interval`` after its last parse, whoever made
it: two schedulers on one PostgreSQL store no longer parse the whole folder each, and when
one stops the other keeps every file parsed. Each test polls two real processors on the
same folder and counts the parses each one saved.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store
from conveyor.store.tables import dag_file

pytestmark = pytest.mark.postgres

INTERVAL = 1.0  # seconds: the processors' min_file_process_interval
FILES = 3

DAG_FILE = """\
from conveyor import DAG, EmptyOperator

with DAG({dag_id!r}, schedule=None):
    EmptyOperator(task_id="t")
"""


@pytest.fixture
def store_url(pg_database_url: str) -> str:
    return pg_database_url


def processors(tmp_path: Path, store: Store) -> tuple[DagFileProcessor, DagFileProcessor]:
    folder = tmp_path / "dags"
    folder.mkdir()
    for n in range(FILES):
        (folder / f"shared_{n}.py").write_text(DAG_FILE.format(dag_id=f"shared_{n}"))
    made = tuple(
        DagFileProcessor(
            store,
            folder,
            timeout=30,
            scan_every=0.05,
            reparse_every=INTERVAL,
            paused_at_creation=False,
        )
        for _ in range(2)
    )
    made[0].sync()
    made[1].sync()  # finds every file parsed and unchanged: parses nothing
    return made[0], made[1]


def parsed_at(store: Store) -> dict[str, datetime]:
    with store.read() as conn:
        return dict(conn.execute(select(dag_file.c.fileloc, dag_file.c.parsed_at)).all())


def poll_for(seconds: float, *polled: DagFileProcessor) -> list[int]:
    """Poll each processor in turn for ``seconds``; the parses each saved."""
    saved = [0] * len(polled)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for n, processor in enumerate(polled):
            saved[n] += processor.poll()
        time.sleep(0.02)
    for processor in polled:  # what is still parsing is waited for and counted
        while processor.busy():
            time.sleep(0.02)
            saved[polled.index(processor)] += processor.poll()
    return saved


def test_two_schedulers_parse_each_file_once_an_interval_between_them(
    tmp_path: Path, store: Store
) -> None:
    first, second = processors(tmp_path, store)
    before = parsed_at(store)

    saved = poll_for(6 * INTERVAL, first, second)

    after = parsed_at(store)
    assert all(after[path] > before[path] for path in before)  # every file kept fresh
    # Each would have parsed every file about six times on its own: twelve parses a file.
    assert sum(saved) <= FILES * 8, saved
    first.stop()
    second.stop()


def test_when_one_scheduler_stops_the_other_parses_every_file(tmp_path: Path, store: Store) -> None:
    first, second = processors(tmp_path, store)
    poll_for(2 * INTERVAL, first, second)
    first.stop()  # its parses stop with it
    stopped = parsed_at(store)

    # Two and a half intervals on a quiet machine; a slow one (a parse of more than a second
    # under a full suite) is given until every file was parsed again, 15 s at most.
    saved = poll_for(2.5 * INTERVAL, second)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(
        parsed_at(store)[path] > stopped[path] for path in stopped
    ):
        saved[0] += poll_for(0.2, second)[0]

    after = parsed_at(store)
    assert saved[0] >= FILES
    assert all(after[path] > stopped[path] for path in stopped)
    second.stop()
