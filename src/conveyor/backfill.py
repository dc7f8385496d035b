"""Backfill: create and run the runs of a DAG's schedule over a past date range.

The runs are ordinary runs of type ``backfill`` (run id ``backfill__<logical date>``), made
in date order and fed ``max_active`` at a time: a new one is created only when one of ours
ends. Existing runs of a date (scheduled, manual or an earlier backfill) are reprocessed by
``reprocess``: ``none`` keeps them, ``failed`` clears the failed tasks of failed runs, ``all``
clears every task of finished runs.

Resuming is reading the store again: a date whose run exists is not created twice, and a run
this backfill already cleared is recognised by the actor its clear left in the timeline
(``backfill:<dag>:<from>..<to>:<reprocess>``), so running the same command after Ctrl-C
picks up where it stopped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conveyor.exceptions import ConfigError
from conveyor.lifecycle import Actor
from conveyor.model.schedules import DataInterval, RunInfo
from conveyor.serialized import SerializedDag
from conveyor.states import FAILED_LIKE, IN_FLIGHT, RUN_FINISHED, RunState, TaskState
from conveyor.store import backfills, manual, runs
from conveyor.store.engine import Store

REPROCESS = ("none", "failed", "all")
#: A range this long is almost surely a mistake (an hourly schedule over years, say).
MAX_RUNS = 10_000


def ticks(structure: SerializedDag, start: datetime, end: datetime) -> list[RunInfo]:
    """The schedule's runs with a logical date in [start, end], in order."""
    found: list[RunInfo] = []
    last: DataInterval | None = None
    far = end + timedelta(days=366 * 100)
    while True:
        info = structure.schedule.next_run(
            last=last, start_date=start, end_date=end, catchup=True, now=far
        )
        if info is None or info.logical_date > end:
            return found
        if info.logical_date >= start:
            found.append(info)
        if len(found) > MAX_RUNS:
            raise ConfigError(f"backfill of {structure.dag_id}: more than {MAX_RUNS} runs")
        if last is not None and info.data_interval.end <= last.end:
            return found  # a schedule that does not move on (@once)
        last = info.data_interval


@dataclass
class Item:
    """One date of the range and what the backfill does about it."""

    info: RunInfo
    run_pk: int | None  # None until created
    action: str  # create | clear | keep
    started: bool = False


def run_id_for(logical_date: datetime) -> str:
    return f"backfill__{logical_date.isoformat(timespec='seconds')}"


class Backfill:
    def __init__(
        self,
        store: Store,
        dag_id: str,
        start: datetime,
        end: datetime,
        *,
        reprocess: str = "none",
        max_active: int = 4,
        conf: dict[str, Any] | None = None,
    ) -> None:
        if reprocess not in REPROCESS:
            raise ConfigError(f"--reprocess must be one of {', '.join(REPROCESS)}")
        if max_active < 1:
            raise ConfigError(f"--max-active must be >= 1, got {max_active}")
        if end < start:
            raise ConfigError(f"--to ({end.isoformat()}) is before --from ({start.isoformat()})")
        self.store = store
        self.dag_id = dag_id
        self.reprocess = reprocess
        self.max_active = max_active
        self.conf = conf or {}  # of the runs it creates (checked by the caller)
        span = f"{start.isoformat(timespec='seconds')}..{end.isoformat(timespec='seconds')}"
        self.actor = Actor(f"backfill:{dag_id}:{span}:{reprocess}")
        with store.read() as conn:
            self.version, self.structure = runs.latest_version(conn, dag_id)
        if self.structure.raw["schedule"].get("type") in ("none", "once"):
            raise ConfigError(
                f"DAG {dag_id!r} has no schedule to backfill "
                f"({self.structure.raw['schedule_description']})"
            )
        self.items = [self._plan(info) for info in ticks(self.structure, start, end)]

    def _plan(self, info: RunInfo) -> Item:
        with self.store.read() as conn:
            found = backfills.first_run_at(conn, self.dag_id, info.logical_date)
            if found is None:
                return Item(info, None, "create")
            run_pk, state = found
            wanted = (self.reprocess == "all" and state in RUN_FINISHED) or (
                self.reprocess == "failed" and state is RunState.FAILED
            )
            if wanted and not backfills.acted_on_run(conn, run_pk, self.actor.name):
                return Item(info, run_pk, "clear")
        return Item(info, run_pk, "keep", started=True)

    # -- feeding runs, max_active at a time --------------------------------------------------

    def states(self) -> dict[int, RunState]:
        pks = [i.run_pk for i in self.items if i.run_pk is not None]
        if not pks:
            return {}
        with self.store.read() as conn:
            return backfills.run_states(conn, pks)

    def feed(self) -> list[Item]:
        """Start the next dates while fewer than max_active of ours are unfinished."""
        states = self.states()
        active = sum(
            1
            for i in self.items
            if i.run_pk is not None and states.get(i.run_pk) not in RUN_FINISHED
        )
        begun = []
        for item in self.items:
            if active >= self.max_active:
                break
            if item.started:
                continue
            self._start(item)
            begun.append(item)
            active += 1
        return begun

    def _start(self, item: Item) -> None:
        with self.store.write() as conn:
            if item.action == "create":
                item.run_pk = runs.create_run(
                    conn,
                    dag_id=self.dag_id,
                    version_hash=self.version,
                    structure=self.structure,
                    run_type="backfill",
                    logical_date=item.info.logical_date,
                    interval=(item.info.data_interval.start, item.info.data_interval.end),
                    run_id=run_id_for(item.info.logical_date),
                    conf=self.conf,
                    created_by=self.actor.name,
                )
                if item.run_pk is None:  # made meanwhile (another backfill): take that one
                    item.run_pk = runs.find_run(
                        conn, self.dag_id, run_id_for(item.info.logical_date)
                    ).id
            elif item.action == "clear" and item.run_pk is not None:
                run = runs.get_run(conn, item.run_pk)
                for ti in runs.task_instances(conn, item.run_pk):
                    if ti.state in IN_FLIGHT or ti.state is TaskState.NONE:
                        continue
                    if self.reprocess == "failed" and ti.state not in FAILED_LIKE:
                        continue
                    manual.clear(conn, self.dag_id, run.run_id, ti.task_id, self.actor)
        item.started = True

    def progress(self) -> Counter[str]:
        """How many dates are done (by run state), running, or not started."""
        states = self.states()
        counts: Counter[str] = Counter()
        for item in self.items:
            if not item.started or item.run_pk is None:
                counts["waiting"] += 1
            else:
                counts[states.get(item.run_pk, RunState.QUEUED).value] += 1
        return counts

    def done(self) -> bool:
        states = self.states()
        return all(
            i.started and i.run_pk is not None and states.get(i.run_pk) in RUN_FINISHED
            for i in self.items
        )
