"""The read model of a DAG's views in time: a run's Gantt chart, landing times, a calendar.

The API serves these shapes and the pages draw them (conveyor.web.ui.charts), so the chart
a person sees and the JSON a script reads come from one place.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from conveyor.lifecycle import DAY_TELLING
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import timeline as timeline_reads
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.timeline import TryTimes
from conveyor.web.schemas import from_row

#: The years a calendar can show (the next year's first day must exist).
YEARS = (1, 9998)
#: At most this many runs of one year are counted on a calendar (an every-5-minutes DAG).
CALENDAR_RUNS = 105_408
#: A day's colour: the first of these states that one of its runs is in.
DAY_STATE_ORDER = tuple(state.value for state in DAY_TELLING)


class GanttBar(BaseModel):
    task_id: str
    map_index: int = Field(description="-1 unless an instance of a mapped task")
    try_number: int | None = Field(description="None: the instance has no try yet")
    state: str = Field(description="the try's state (the instance's when it has no try)")
    queued_at: datetime | None = Field(description="when this try was queued, if known")
    start_date: datetime | None
    end_date: datetime | None
    hostname: str | None = None


class Gantt(BaseModel):
    dag_id: str
    run_id: str
    state: str
    logical_date: datetime
    queued_at: datetime
    start_date: datetime | None
    end_date: datetime | None
    bars: list[GanttBar] = Field(description="one per try, in task then try order")


class LandingPoint(BaseModel):
    run_id: str
    run_type: str
    state: str
    logical_date: datetime
    due_at: datetime = Field(
        description="the end of the data interval, or the logical date when the run has none"
    )
    start_date: datetime | None
    end_date: datetime | None
    landing_seconds: float | None = Field(description="from due_at to the run's end")
    duration_seconds: float | None = Field(description="from the run's start to its end")


class LandingTimes(BaseModel):
    dag_id: str
    runs: list[LandingPoint] = Field(description="the latest runs by logical date, oldest first")


class CalendarDay(BaseModel):
    date: date
    state: str = Field(description="failed, running, queued or success: the worst of the day")
    counts: dict[str, int] = Field(description="runs of each state on that day")


class Calendar(BaseModel):
    dag_id: str
    year: int
    years: list[int] = Field(description="the years that have runs, for navigation")
    days: list[CalendarDay] = Field(description="days (UTC) with at least one run")
    truncated: bool = Field(description="true when the year has more runs than were counted")


def bars_of(rows: list[TryTimes]) -> list[GanttBar]:
    """One bar per try; an instance whose current try has no row yet gets one bar more."""
    bars: list[GanttBar] = []
    numbers: dict[tuple[str, int], set[int]] = {}
    first: dict[tuple[str, int], TryTimes] = {}
    for row in rows:
        key = (row.task_id, row.map_index)
        first.setdefault(key, row)
        numbers.setdefault(key, set())
        if row.try_number is None:
            continue
        numbers[key].add(row.try_number)
        current = row.try_number == row.instance_try
        queued = row.queued_at if current else None
        if queued is not None and row.start_date is not None and queued > row.start_date:
            queued = None  # the instance was queued again after this try started
        bars.append(
            from_row(GanttBar, row, state=row.state or row.instance_state, queued_at=queued)
        )
    for key, row in first.items():
        if row.instance_try in numbers[key]:
            continue
        bars.append(
            GanttBar(
                task_id=row.task_id,
                map_index=row.map_index,
                try_number=row.instance_try or None,
                state=row.instance_state,
                queued_at=row.queued_at,
                start_date=None,
                end_date=None,
            )
        )
    order = {key: i for i, key in enumerate(first)}
    bars.sort(key=lambda b: (order[(b.task_id, b.map_index)], b.try_number or 0))
    return bars


def gantt(conn: Connection, dag_id: str, run_id: str) -> Gantt:
    """Every try of the run's task instances in time; NotFoundError for an unknown run."""
    run = run_reads.get_run(conn, dag_id, run_id)
    return from_row(Gantt, run, bars=bars_of(timeline_reads.run_tries(conn, run.id)))


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else round((end - start).total_seconds(), 3)


def landing_point(run: RunListing) -> LandingPoint:
    """How long after it was due the run ended: due at the end of its data interval, or at
    its logical date when that is later (a manual run, whose interval ends by then)."""
    due = max(run.logical_date, run.data_interval_end)
    return from_row(
        LandingPoint,
        run,
        due_at=due,
        landing_seconds=_seconds(due, run.end_date),
        duration_seconds=_seconds(run.start_date, run.end_date),
    )


def landing_times(conn: Connection, dag_id: str, limit: int) -> LandingTimes:
    """How long after it was due each of the latest ``limit`` runs ended, and how long it ran."""
    dag_reads.get_dag(conn, dag_id)  # NotFoundError for an unknown DAG
    latest = run_reads.latest_by_date(conn, dag_id, limit)
    return LandingTimes(dag_id=dag_id, runs=[landing_point(run) for run in reversed(latest)])


def _day_state(counts: Counter[str]) -> str:
    return next((s for s in DAY_STATE_ORDER if counts.get(s)), "success")


def calendar(conn: Connection, dag_id: str, year: int | None) -> Calendar:
    """The DAG's runs of one year (default: its newest run's) by UTC day of logical date."""
    dag_reads.get_dag(conn, dag_id)
    span = timeline_reads.run_years(conn, dag_id)
    if year is None:
        year = min(max(span[1].year if span else datetime.now(UTC).year, YEARS[0]), YEARS[1])
    years = list(range(span[0].year, span[1].year + 1)) if span else []
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    found = timeline_reads.runs_between(conn, dag_id, start, end, CALENDAR_RUNS + 1)
    by_day: dict[date, Counter[str]] = {}
    for run in found[:CALENDAR_RUNS]:
        by_day.setdefault(run.logical_date.astimezone(UTC).date(), Counter())[run.state] += 1
    days = [
        CalendarDay(date=day, state=_day_state(counts), counts=dict(sorted(counts.items())))
        for day, counts in sorted(by_day.items())
    ]
    return Calendar(
        dag_id=dag_id, year=year, years=years, days=days, truncated=len(found) > CALENDAR_RUNS
    )
