"""Backfill: create the runs of a DAG's schedule over a past date range, as one backfill.

A backfill is recorded (``store.backfills``: Airflow 3's ``Backfill``) and its runs are made
at once, queued, each linked to it (``dag_run.backfill_id``), as Airflow 3 makes them. The
scheduler then starts them oldest first, at most the backfill's ``max_active_runs`` at a
time and none while it is paused; they do not count against the DAG's own
``max_active_runs``. The runs are ordinary runs of type ``backfill`` (run id
``backfill__<logical date>``). Existing runs of a date (scheduled, manual or an earlier
backfill) are reprocessed by ``reprocess``: ``none`` keeps them, ``failed`` clears the failed
tasks of failed runs, ``all`` clears every task of finished runs; a run cleared joins the
backfill and is paced with its own.

Resuming is reading the store again: a DAG has at most one backfill going on, and asking
for the same range and reprocessing again continues it (its runs exist: they are kept; a
run this backfill already cleared is recognised by the actor its clear left in the
timeline, ``backfill:<dag>:<from>..<to>:<reprocess>``). Cancelling (:func:`cancel`) pauses
it, fails its runs that have not started and completes it; the scheduler completes it when
its runs have all ended.

A partitioned DAG (``CronPartitionTimetable``, Airflow 3.3) is backfilled by partition: one
run for each fire time whose partition starts within the range (the bounds' wall clocks
read in the timetable's zone), with that partition's key and date, its logical date the
partition's start; an existing run of the same ``partition_date`` is what ``reprocess``
keeps or clears. A DAG whose partitions come from asset events or from its tasks has no
dates to backfill, and is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine import manual
from conveyor.exceptions import ConfigError
from conveyor.lifecycle import Actor
from conveyor.model.partitioned_timetables import CronPartitionTimetable
from conveyor.model.schedules import DataInterval, RunInfo
from conveyor.serialized import SerializedDag
from conveyor.states import FAILED_LIKE, IN_FLIGHT, RUN_FINISHED, RunState, TaskState
from conveyor.store import backfills, runs
from conveyor.store.backfills import BackfillRow
from conveyor.store.engine import Connection, Store

REPROCESS = ("none", "failed", "all")
#: Conveyor's ``reprocess`` -> Airflow's ``reprocess_behavior``, as the record keeps it.
AIRFLOW_REPROCESS = {"none": "none", "failed": "failed", "all": "completed"}
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


def partition_ticks(
    schedule: CronPartitionTimetable, start: datetime, end: datetime
) -> list[RunInfo]:
    """A partitioned timetable's partitions starting in [start, end], each as the run of
    its start."""
    found: list[RunInfo] = []
    for moment in schedule.partitions_between(start, end):
        found.append(RunInfo(moment, DataInterval(moment, moment), moment))
        if len(found) > MAX_RUNS:
            raise ConfigError(f"backfill: more than {MAX_RUNS} partitions")
    return found


class BackfillRunningError(ConfigError):
    """The DAG has another backfill going on (Airflow allows one at a time)."""


@dataclass
class Item:
    """One date of the range and what the backfill does about it."""

    info: RunInfo
    run_pk: int | None  # None until created
    action: str  # create | clear | keep
    started: bool = False
    partition_key: str | None = None  # a partitioned DAG's: the partition it is for


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
        triggering_user: str | None = None,
    ) -> None:
        if reprocess not in REPROCESS:
            raise ConfigError(f"--reprocess must be one of {', '.join(REPROCESS)}")
        if max_active < 1:
            raise ConfigError(f"--max-active must be >= 1, got {max_active}")
        if end < start:
            raise ConfigError(f"--to ({end.isoformat()}) is before --from ({start.isoformat()})")
        self.store = store
        self.dag_id = dag_id
        self.start, self.end = start, end
        self.triggering_user = triggering_user
        #: The record, once :meth:`create` made or resumed it.
        self.backfill_id: int | None = None
        self.reprocess = reprocess
        self.max_active = max_active
        self.conf = conf or {}  # of the runs it creates (checked by the caller)
        span = f"{start.isoformat(timespec='seconds')}..{end.isoformat(timespec='seconds')}"
        self.actor = Actor(f"backfill:{dag_id}:{span}:{reprocess}")
        with store.read() as conn:
            self.version, self.structure = runs.latest_version(conn, dag_id)
        schedule = self.structure.schedule
        if self.structure.raw["schedule"].get("type") in ("none", "once"):
            raise ConfigError(
                f"DAG {dag_id!r} has no schedule to backfill "
                f"({self.structure.raw['schedule_description']})"
            )
        if (schedule.partitioned or schedule.partitioned_at_runtime) and not isinstance(
            schedule, CronPartitionTimetable
        ):
            raise ConfigError(
                f"DAG {dag_id!r} is partitioned by its assets' events or at runtime "
                f"({schedule.description}): it has no partitions of dates to backfill; "
                "only a CronPartitionTimetable's partitions are backfilled"
            )
        self.partitioned = schedule if isinstance(schedule, CronPartitionTimetable) else None
        found = (
            partition_ticks(self.partitioned, start, end)
            if self.partitioned
            else ticks(self.structure, start, end)
        )
        self.items = [self._plan(info) for info in found]

    def _plan(self, info: RunInfo) -> Item:
        key = self.partitioned.partition_key(info.logical_date) if self.partitioned else None
        with self.store.read() as conn:
            found = backfills.first_run_at(
                conn, self.dag_id, info.logical_date, partition=bool(self.partitioned)
            )
            if found is None:
                return Item(info, None, "create", partition_key=key)
            run_pk, state = found
            wanted = (self.reprocess == "all" and state in RUN_FINISHED) or (
                self.reprocess == "failed" and state is RunState.FAILED
            )
            if wanted and not backfills.acted_on_run(conn, run_pk, self.actor.name):
                return Item(info, run_pk, "clear", partition_key=key)
        return Item(info, run_pk, "keep", started=True, partition_key=key)

    # -- the record and its runs ------------------------------------------------------------

    def states(self) -> dict[int, RunState]:
        pks = [i.run_pk for i in self.items if i.run_pk is not None]
        if not pks:
            return {}
        with self.store.read() as conn:
            return backfills.run_states(conn, pks)

    def create(self) -> int:
        """Record the backfill (or continue the DAG's one going on, if it is this same
        range and reprocessing) and make all its runs at once, queued; its id. Another
        backfill of the DAG going on is refused (:class:`BackfillRunningError`)."""
        with self.store.write() as conn:
            self.backfill_id = self._record(conn)
            for item in self.items:
                if not item.started:
                    self._start_in(conn, item)
        return self.backfill_id

    def _record(self, conn: Connection) -> int:
        going = backfills.going_on(conn, self.dag_id)
        if going is not None and going.id in backfills.ended_backfills(conn):
            # Ended; the scheduler was to say so in its next loop.
            backfills.complete(conn, going.id, utcnow(), if_ended=True)
            going = None
        if going is None:
            return backfills.create(
                conn,
                dag_id=self.dag_id,
                from_date=self.start,
                to_date=self.end,
                dag_run_conf=self.conf,
                reprocess_behavior=AIRFLOW_REPROCESS[self.reprocess],
                max_active_runs=self.max_active,
                triggering_user_name=self.triggering_user,
            )
        same = (going.from_date, going.to_date, going.reprocess_behavior) == (
            self.start,
            self.end,
            AIRFLOW_REPROCESS[self.reprocess],
        )
        if not same:
            raise BackfillRunningError(
                f"there is already a running backfill for dag {self.dag_id} (backfill "
                f"{going.id}, {going.from_date.isoformat()} to {going.to_date.isoformat()}); "
                f"cancel it first (conveyor backfill cancel {going.id})"
            )
        # The same backfill asked for again: it goes on, at the pace asked for now.
        backfills.change(conn, going.id, is_paused=False, max_active_runs=self.max_active)
        return going.id

    def _start_in(self, conn: Connection, item: Item) -> None:
        assert self.backfill_id is not None
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
                partition_key=item.partition_key,
                partition_date=item.info.logical_date if item.partition_key else None,
            )
            if item.run_pk is None:  # made meanwhile (another backfill): take that one
                item.run_pk = runs.find_run(
                    conn, self.dag_id, run_id_for(item.info.logical_date)
                ).id
            else:
                backfills.link_run(conn, item.run_pk, self.backfill_id)
        elif item.action == "clear" and item.run_pk is not None:
            # Linked before the clear queues it: the scheduler paces it with the others.
            backfills.link_run(conn, item.run_pk, self.backfill_id)
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

    def complete_if_ended(self) -> None:
        """Complete the record now if its runs all ended (the scheduler would next loop)."""
        if self.backfill_id is None:
            return
        with self.store.write() as conn:
            if self.backfill_id in backfills.ended_backfills(conn):
                backfills.complete(conn, self.backfill_id, utcnow(), if_ended=True)

    def done(self) -> bool:
        states = self.states()
        return all(
            i.started and i.run_pk is not None and states.get(i.run_pk) in RUN_FINISHED
            for i in self.items
        )


# -- a person's actions on a backfill ---------------------------------------------------------


def pause(conn: Connection, backfill_id: int) -> BackfillRow:
    """Its queued runs wait (those running go on); a completed backfill is refused
    (``store.backfills.BackfillCompletedError``), as Airflow's 409."""
    return backfills.change(conn, backfill_id, is_paused=True)


def unpause(conn: Connection, backfill_id: int) -> BackfillRow:
    """Its queued runs start again, ``max_active_runs`` at a time."""
    return backfills.change(conn, backfill_id, is_paused=False)


def cancel(conn: Connection, backfill_id: int, actor: Actor) -> BackfillRow:
    """Airflow 3's cancel: pause the backfill (nothing of it starts any more), fail its runs
    that have not started (queued: their task instances too), and complete it now. Runs
    already running go on to their end; no other run is touched."""
    found = backfills.change(conn, backfill_id, is_paused=True)
    now = utcnow()
    for _run_pk, run_id in backfills.runs_in_state(conn, backfill_id, RunState.QUEUED):
        note = f"backfill {backfill_id} cancelled by {actor.name}"
        manual.cancel_queued_run(conn, found.dag_id, run_id, actor, note)
    backfills.complete(conn, backfill_id, now)
    done = backfills.get(conn, backfill_id)
    assert done is not None
    return done
