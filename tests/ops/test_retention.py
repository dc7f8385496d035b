"""`conveyor db clean`: old finished runs go with everything of theirs; nothing else moves."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ops_helpers import clean_env, conveyor
from sqlalchemy import func, select, update

from conftest import make_settings, run_until_finished
from conveyor.clock import utcnow
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.retention import clean, parse_age
from conveyor.store.tables import dag_run, task_event, task_instance, task_try, xcom

DAG = """
from conveyor import DAG, task

with DAG("kept_short"):
    @task
    def make():
        print("making")
        return {"n": 1}

    @task
    def use(value):
        print("using", value)

    use(make())
"""


def _counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (dag_run, task_instance, task_try, task_event, xcom)
        }


def _xcoms(store: Store, run_pk: int) -> int:
    with store.read() as conn:
        query = select(func.count()).select_from(xcom).where(xcom.c.run_pk == run_pk)
        return int(conn.execute(query).scalar_one())


def _log_paths(store: Store, run_pk: int) -> list[Path]:
    with store.read() as conn:
        rows = conn.execute(
            select(task_try.c.log_path)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.run_pk == run_pk)
        )
        return [Path(p) for p in rows.scalars()]


@pytest.fixture
def history(tmp_path: Path, store_url: str) -> Iterator[tuple]:
    """Three finished runs that ended 40 days, 10 days and just now ago, and an old queued run."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "dag.py").write_text(textwrap.dedent(DAG))
    settings = make_settings(tmp_path, dags, store_url)
    store = Store(store_url)
    DagFileProcessor(store, dags, timeout=30, scan_every=0.1).sync()
    now = utcnow()
    pks = []
    for days in (40, 10, 0):
        with store.write() as conn:
            pk = runs.create_manual_run(
                conn, "kept_short", created_by="test", logical_date=now - timedelta(days=days)
            )
        assert pk is not None
        pks.append(pk)
    run_until_finished(settings, store, pks, limit=90)
    with store.write() as conn:
        for pk, days in zip(pks, (40, 10, 0), strict=True):
            ended = now - timedelta(days=days)
            conn.execute(update(dag_run).where(dag_run.c.id == pk).values(end_date=ended))
        # Queued two months ago and never started: old, but not finished, so it stays.
        waiting = runs.create_manual_run(
            conn, "kept_short", created_by="test", logical_date=now - timedelta(days=60)
        )
        conn.execute(
            update(dag_run)
            .where(dag_run.c.id == waiting)
            .values(queued_at=now - timedelta(days=60))
        )
    yield settings, store, pks, waiting
    store.dispose()


def test_dry_run_counts_and_deletes_nothing(history: tuple) -> None:
    settings, store, (old, _, _), _ = history
    before = _counts(store)
    xcoms = _xcoms(store, old)
    assert xcoms >= 1  # make's return value at least

    report = clean(store, settings, timedelta(days=30), dry_run=True)

    assert (report.runs, report.task_instances, report.tries, report.xcoms) == (1, 2, 2, xcoms)
    assert report.events >= 4  # at least scheduled and started for each of two tries
    assert report.local_logs == 2
    assert _counts(store) == before
    assert all(p.is_file() for p in _log_paths(store, old))
    store.dispose()


def test_clean_removes_old_runs_with_everything_theirs(history: tuple) -> None:
    settings, store, (old, middle, recent), waiting = history
    before = _counts(store)
    old_logs = _log_paths(store, old)
    kept_logs = _log_paths(store, middle) + _log_paths(store, recent)
    xcoms = _xcoms(store, old)

    report = clean(store, settings, timedelta(days=30))

    assert (report.runs, report.task_instances, report.tries, report.xcoms) == (1, 2, 2, xcoms)
    assert report.local_logs == 2 and report.remote_logs == 0
    after = _counts(store)
    assert after["dag_run"] == before["dag_run"] - 1
    assert after["task_instance"] == before["task_instance"] - 2
    assert after["task_try"] == before["task_try"] - 2
    assert after["task_event"] == before["task_event"] - report.events
    assert after["xcom"] == before["xcom"] - xcoms
    assert _xcoms(store, old) == 0
    with store.read() as conn:
        left = set(conn.execute(select(dag_run.c.id)).scalars())
    assert left == {middle, recent, waiting}
    assert not any(p.exists() for p in old_logs)
    assert not old_logs[0].parent.parent.exists()  # the run's log folder is gone
    assert all(p.is_file() for p in kept_logs)

    # Again: nothing more to do. A shorter age takes the 10-day-old run as well.
    assert clean(store, settings, timedelta(days=30)).runs == 0
    assert clean(store, settings, timedelta(days=5)).runs == 1
    with store.read() as conn:
        assert set(conn.execute(select(dag_run.c.id)).scalars()) == {recent, waiting}
    store.dispose()


def test_db_clean_command(history: tuple, tmp_path: Path) -> None:
    settings, store, _, _ = history
    env = clean_env(settings.home, database_url=settings.db_url)

    dry = conveyor(env, "db", "clean", "--older-than", "30d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete: 1 runs, 2 task instances, 2 tries" in " ".join(dry.stdout.split())

    done = conveyor(env, "db", "clean", "--older-than", "30d")
    assert done.returncode == 0, done.stderr
    assert "deleted: 1 runs, 2 task instances, 2 tries" in " ".join(done.stdout.split())

    bad = conveyor(env, "db", "clean", "--older-than", "thirty days")
    assert bad.returncode == 2
    assert "'thirty days' is not an age" in bad.stderr
    store.dispose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        (" 45s ", timedelta(seconds=45)),
    ],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-3d", "1.5d", "30 days"])
def test_parse_age_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not an age"):
        parse_age(text)
