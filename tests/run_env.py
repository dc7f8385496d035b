"""One test's DAG folder and store, with the verbs that whole-run tests share: write a DAG
file, parse the folder, trigger a run, run a real scheduler until it finishes, read the
states, tries and timeline events back.

Imported as ``run_env`` (``tests/`` is on ``sys.path``, as for ``conftest``); the ``env``
fixture of ``conftest`` builds one per test.
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from conftest import make_settings, run_scheduler, run_until_finished
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Connection, Store
from conveyor.store.tables import dag_run, task_event, task_instance, task_try

#: Put at the top of every DAG file; ``@TMP@`` in a DAG body becomes the test's tmp_path.
HEADER = """\
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from conveyor import DAG, BashOperator, EmptyOperator, Fail, Skip, task

START = datetime(2024, 1, 1)
"""

LIFECYCLE = ("scheduled", "queued", "started", "success", "failed", "up_for_retry", "skipped")


@dataclass
class Env:
    """One test's DAG folder and store, with the few verbs the tests need."""

    tmp: Path
    dags: Path
    store: Store

    def write_dag(self, name: str, body: str, *, header: bool = True) -> Path:
        text = textwrap.dedent(body).lstrip("\n").replace("@TMP@", str(self.tmp))
        path = self.dags / name
        path.write_text((HEADER if header else "") + text)
        return path

    def settings(self, **overrides: Any) -> Settings:
        return make_settings(self.tmp, self.dags, self.store.url, **overrides)

    def sync(self) -> None:
        DagFileProcessor(self.store, self.dags, timeout=10, scan_every=1).sync()

    def trigger(
        self, dag_id: str, *, conf: dict[str, Any] | None = None, at: datetime | None = None
    ) -> int:
        """A manual run of a parsed DAG, as ``conveyor dags trigger`` makes one."""
        with self.store.write() as conn:
            run_pk = runs.create_manual_run(
                conn, dag_id, conf=conf, logical_date=at, created_by="test"
            )
        assert run_pk is not None
        return run_pk

    def run(self, *run_pks: int, limit: float = 20.0, **overrides: Any) -> float:
        return run_until_finished(
            self.settings(**overrides), self.store, list(run_pks), limit=limit
        )

    def run_for(self, seconds: float, **overrides: Any) -> None:
        end = time.monotonic() + seconds
        run_scheduler(self.settings(**overrides), self.store, lambda: time.monotonic() >= end)

    def run_state(self, run_pk: int) -> RunState:
        with self.store.read() as conn:
            return runs.get_run(conn, run_pk).state

    def states(self, run_pk: int) -> dict[str, TaskState]:
        with self.store.read() as conn:
            return {ti.task_id: ti.state for ti in runs.task_instances(conn, run_pk)}

    def _ti_id(self, conn: Any, run_pk: int, task_id: str) -> int:
        return int(
            conn.execute(
                select(task_instance.c.id).where(
                    task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id
                )
            ).scalar_one()
        )

    def tries(self, run_pk: int, task_id: str) -> list[Any]:
        with self.store.read() as conn:
            ti_id = self._ti_id(conn, run_pk, task_id)
            return list(
                conn.execute(
                    select(task_try)
                    .where(task_try.c.ti_id == ti_id)
                    .order_by(task_try.c.try_number)
                )
            )

    def events(self, run_pk: int, task_id: str) -> list[Any]:
        """The task instance's timeline: (kind, actor, try_number, message) in order."""
        with self.store.read() as conn:
            ti_id = self._ti_id(conn, run_pk, task_id)
            return list(
                conn.execute(
                    select(
                        task_event.c.kind,
                        task_event.c.actor,
                        task_event.c.try_number,
                        task_event.c.message,
                    )
                    .where(task_event.c.ti_id == ti_id)
                    .order_by(task_event.c.id)
                )
            )

    def kinds(self, run_pk: int, task_id: str) -> list[str]:
        return [e.kind for e in self.events(run_pk, task_id) if e.kind in LIFECYCLE]

    def dag_runs(self, dag_id: str) -> list[Any]:
        with self.store.read() as conn:
            return list(
                conn.execute(
                    select(dag_run)
                    .where(dag_run.c.dag_id == dag_id)
                    .order_by(dag_run.c.logical_date)
                )
            )


def run_one(env: Env, dag_id: str, **overrides: Any) -> int:
    """Parse the folder, trigger ``dag_id`` and run it to its end; its run's pk."""
    env.sync()
    run_pk = env.trigger(dag_id)
    env.run(run_pk, **overrides)
    return run_pk


def written_folder(tmp: Path, name: str, source: str) -> Path:
    """A DAG folder under ``tmp`` holding the one file ``name`` (``source`` dedented)."""
    dags = tmp / "dags"
    dags.mkdir()
    (dags / name).write_text(textwrap.dedent(source))
    return dags


def parsed_folder(tmp: Path, store: Store, name: str, source: str) -> Path:
    """:func:`written_folder`, parsed into ``store``."""
    dags = written_folder(tmp, name, source)
    DagFileProcessor(store, dags, timeout=10, scan_every=60).sync()
    return dags


def manual_run(conn: Connection, dag_id: str) -> int:
    """A manual run of a parsed DAG, made in the caller's write transaction; its pk."""
    run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    return run_pk
