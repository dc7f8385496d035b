"""Retention: delete finished runs older than a cut-off, with everything that belongs to them.

A run goes with its task instances, tries, timeline events, XCom values and its tries' log
files (local and remote). Queued and running runs are never touched, however old. Runs are
deleted in batches, each in its own short transaction, so a large clean-up never holds locks
for long and can be interrupted and run again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.sql.elements import ColumnElement

from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.logs import delete_try_logs
from conveyor.states import RUN_FINISHED
from conveyor.store.engine import Store
from conveyor.store.tables import (
    dag_run,
    run_plan_request,
    task_event,
    task_instance,
    task_try,
    xcom,
)

BATCH = 500
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"(\d+)\s*([smhdw])")


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` -> a timedelta; ValueError otherwise."""
    match = _AGE.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not an age: use a positive number and a unit, e.g. 30d, 12h, 90m, 2w"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass
class CleanReport:
    """How much was (or, in a dry run, would be) deleted."""

    runs: int = 0
    task_instances: int = 0
    tries: int = 0
    events: int = 0
    xcoms: int = 0
    local_logs: int = 0
    remote_logs: int = 0

    def add(self, other: CleanReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _old_finished_runs(cutoff: datetime) -> ColumnElement[bool]:
    ended = func.coalesce(dag_run.c.end_date, dag_run.c.queued_at)
    return dag_run.c.state.in_([s.value for s in RUN_FINISHED]) & (ended < cutoff)


def clean(
    store: Store,
    settings: Settings,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[CleanReport], None] | None = None,
) -> CleanReport:
    """Delete finished runs that ended more than ``older_than`` ago (``dry_run``: count only)."""
    cutoff = (now or utcnow()) - older_than
    total = CleanReport()
    last_id = 0
    while True:
        with store.read() as conn:
            run_ids = list(
                conn.execute(
                    select(dag_run.c.id)
                    .where(_old_finished_runs(cutoff), dag_run.c.id > last_id)
                    .order_by(dag_run.c.id)
                    .limit(BATCH)
                ).scalars()
            )
        if not run_ids:
            return total
        last_id = run_ids[-1]
        batch = _count_or_delete(store, settings, run_ids, cutoff, dry_run)
        if dry_run:
            with store.read() as conn:
                paths = log_paths(conn, run_ids)
            batch.local_logs = sum(1 for p in paths if Path(p).is_file())
        total.add(batch)
        if progress is not None:
            progress(total)


def _count_or_delete(
    store: Store, settings: Settings, run_ids: list[int], cutoff: datetime, dry_run: bool
) -> CleanReport:
    report = CleanReport()
    context = store.read() if dry_run else store.write()
    with context as conn:
        if dry_run:
            for name, table, where in _steps(run_ids):
                count = conn.execute(select(func.count()).select_from(table).where(where))
                setattr(report, name, count.scalar_one())
            return report
        # Checked again inside the transaction: a run cleared since it was listed is
        # running again and stays.
        run_ids = list(
            conn.execute(
                select(dag_run.c.id).where(dag_run.c.id.in_(run_ids), _old_finished_runs(cutoff))
            ).scalars()
        )
        paths = log_paths(conn, run_ids)
        report = delete_runs(conn, run_ids)
    # After the commit: a log without its run is harmless, a run without its log is not.
    report.local_logs, report.remote_logs = delete_try_logs(settings, paths)
    return report


def _steps(run_ids: list[int]) -> list[tuple[str, Table, ColumnElement[bool]]]:
    """What belongs to these runs, table by table, children first."""
    ti_ids = select(task_instance.c.id).where(task_instance.c.run_pk.in_(run_ids))
    return [
        ("events", task_event, task_event.c.ti_id.in_(ti_ids)),
        ("tries", task_try, task_try.c.ti_id.in_(ti_ids)),
        ("xcoms", xcom, xcom.c.run_pk.in_(run_ids)),
        ("task_instances", task_instance, task_instance.c.run_pk.in_(run_ids)),
        ("runs", dag_run, dag_run.c.id.in_(run_ids)),
    ]


def delete_runs(conn: Connection, run_ids: list[int]) -> CleanReport:
    """Delete these runs and their task instances, tries, timeline events and XComs in
    ``conn``'s transaction (their callback requests and scheduler problems go with them by
    foreign key); the caller deletes the log files, after the commit (:func:`log_paths`)."""
    report = CleanReport()
    for name, table, where in _steps(run_ids):
        setattr(report, name, conn.execute(delete(table).where(where)).rowcount)
    # No foreign key (see tables.run_plan_request): the scheduler would drop them anyway.
    conn.execute(delete(run_plan_request).where(run_plan_request.c.run_pk.in_(run_ids)))
    return report


def log_paths(conn: Connection, run_ids: list[int]) -> list[str]:
    """The log files of every try of these runs (once each: a try's pokes share its log)."""
    rows = conn.execute(
        select(task_try.c.log_path)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(task_instance.c.run_pk.in_(run_ids), task_try.c.log_path.is_not(None))
        .distinct()
    )
    return [path for path in rows.scalars() if path]
