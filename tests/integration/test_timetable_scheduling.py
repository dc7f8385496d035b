"""Airflow DAG files scheduled by timetables, through the real scheduler on both stores.

The DAG files are written in Airflow's spelling (``schedule=CronTriggerTimetable(...)``,
``timetable=``, a timetable class of the user's own in a module beside the DAG files). The
expected data intervals follow Airflow's documented semantics; start and end dates bound
the catchup cases so that the lists do not depend on when the test runs, and the cases
without catchup use fire times a year apart, whose latest one is known from today's date.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cli_processes import run_cli
from conftest import make_settings, run_scheduler
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from conveyor.web import queries

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

# A timetable of the user's own: a day's run for each weekday, the weekend's data with Monday.
WEEKDAYS = '''
from datetime import datetime, time, timedelta, timezone

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

UTC = timezone.utc


class WeekdayTimetable(Timetable):
    """Runs at ``hour`` on each weekday for the day(s) before it."""

    def __init__(self, hour=0):
        self.hour = hour
        self.description = f"weekdays at {hour:02d}:00 UTC"

    @property
    def summary(self):
        return f"weekdays {self.hour:02d}:00"

    def serialize(self):
        return {"hour": self.hour}

    @classmethod
    def deserialize(cls, data):
        return cls(hour=data["hour"])

    def _at(self, day):
        return datetime.combine(day, time(self.hour), tzinfo=UTC)

    def _next_weekday(self, moment):
        day = moment.date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return self._at(day)

    def infer_manual_data_interval(self, *, run_after):
        end = self._at(run_after.date())
        return DataInterval(start=end - timedelta(days=1), end=end)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction: TimeRestriction):
        if last_automated_data_interval is not None:
            start = last_automated_data_interval.end
        elif restriction.earliest is None:
            return None
        else:
            start = self._at(restriction.earliest.date())
        end = self._next_weekday(start + timedelta(days=1))
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=end)
'''

TIMETABLES = """
from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, EventsTimetable, MultipleCronTriggerTimetable
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable, DeltaTriggerTimetable

from weekday_timetable import WeekdayTimetable

START = datetime.fromisoformat("@START@")
LONG_AGO = datetime(2000, 1, 1)
ORDERS = Asset("s3://shop/orders")


def dag(dag_id, schedule, catchup, start_date=START, **kwargs):
    with DAG(dag_id, schedule=schedule, start_date=start_date, catchup=catchup, **kwargs) as made:
        EmptyOperator(task_id="work")
    return made


dag("cron_trigger", CronTriggerTimetable("0 1 * * *", timezone="UTC",
    interval=timedelta(hours=1)), True, end_date=START + timedelta(days=2, hours=2))
# Without catchup, the yearly ones run their latest fire time (or interval) since 2000.
dag("cron_trigger_latest", CronTriggerTimetable("0 0 1 1 *", timezone="UTC"), False, LONG_AGO)
dag("delta_trigger", DeltaTriggerTimetable(timedelta(hours=6)), True,
    end_date=START + timedelta(hours=13))
dag("delta_trigger_now", DeltaTriggerTimetable(timedelta(days=30)), False)
dag("multiple_cron", MultipleCronTriggerTimetable("0 1 * * *", "30 3 * * *", timezone="UTC"),
    True, end_date=START + timedelta(days=1, hours=4))
dag("cron_interval_latest", CronDataIntervalTimetable("0 0 1 1 *", "UTC"), False, LONG_AGO)
dag("delta_interval", DeltaDataIntervalTimetable(timedelta(hours=12)), True,
    end_date=START + timedelta(hours=24))
dag("events", EventsTimetable(event_dates=[START + timedelta(hours=30), START + timedelta(hours=5),
    datetime.fromisoformat("@FUTURE@")], description="Match days"), True)
dag("events_latest", EventsTimetable([START + timedelta(hours=5),
    datetime.fromisoformat("@FUTURE@")], restrict_to_events=True), False)
dag("weekdays", WeekdayTimetable(hour=6), True, end_date=START + timedelta(days=6))
# Thirty crons: a summary longer than the dag table's schedule column.
dag("many_crons", MultipleCronTriggerTimetable(*[f"{m} 4 * * *" for m in range(0, 60, 2)],
    timezone="UTC"), True, end_date=START - timedelta(days=1))

with DAG("orders_or_yearly", timetable=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 0 1 1 *", timezone="UTC"), assets=[ORDERS]),
        start_date=LONG_AGO, catchup=False):
    EmptyOperator(task_id="work")

with DAG("export_orders", schedule=None, start_date=START):
    EmptyOperator(task_id="export", outlets=[ORDERS])
"""

EXPECTED_DAGS = {
    "cron_trigger": 3,
    "cron_trigger_latest": 1,
    "delta_trigger": 3,
    "delta_trigger_now": 1,
    "multiple_cron": 4,
    "cron_interval_latest": 1,
    "delta_interval": 3,
    "events": 2,
    "events_latest": 0,
    "weekdays": 5,
    "orders_or_yearly": 1,
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Folder:
    def __init__(self, tmp: Path, store: Store) -> None:
        self.tmp, self.store = tmp, store
        self.dags = tmp / "dags"
        self.dags.mkdir()
        # A Monday long enough ago that every bounded schedule has run through its end_date.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.start = today - timedelta(days=14 + today.weekday())
        self.future = today + timedelta(days=400)
        (self.dags / "weekday_timetable.py").write_text(textwrap.dedent(WEEKDAYS))
        text = TIMETABLES.replace("@START@", self.start.isoformat())
        (self.dags / "timetables.py").write_text(text.replace("@FUTURE@", self.future.isoformat()))

    def settings(self) -> Any:
        return make_settings(self.tmp, self.dags, self.store.url)

    def intervals(self, dag_id: str) -> list[tuple[datetime, datetime]]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(dag_run.c.data_interval_start, dag_run.c.data_interval_end)
                .where(dag_run.c.dag_id == dag_id, dag_run.c.run_type == "scheduled")
                .order_by(dag_run.c.logical_date)
            ).all()
        return [(aware(r[0]), aware(r[1])) for r in rows]

    def counts(self) -> dict[str, int]:
        return {dag_id: len(self.intervals(dag_id)) for dag_id in EXPECTED_DAGS}


@pytest.fixture
def folder(tmp_path: Path, store: Store) -> Folder:
    return Folder(tmp_path, store)


def scheduled_all(folder: Folder) -> None:
    run_scheduler(
        folder.settings(),
        folder.store,
        lambda: folder.counts() == EXPECTED_DAGS,
        limit=60,
        what=f"the runs {EXPECTED_DAGS}",
    )


def test_each_timetable_makes_the_runs_airflow_would(folder: Folder) -> None:
    before = datetime.now(UTC)
    scheduled_all(folder)
    after = datetime.now(UTC)
    s, h, d = folder.start, timedelta(hours=1), timedelta(days=1)
    year = datetime.now(UTC).year
    assert folder.intervals("cron_trigger") == [(s + k * d, s + k * d + h) for k in range(3)]
    assert folder.intervals("cron_trigger_latest") == [(utc(year, 1, 1), utc(year, 1, 1))]
    assert folder.intervals("delta_trigger") == [(s + k * 6 * h,) * 2 for k in range(3)]
    ((now_start, now_end),) = folder.intervals("delta_trigger_now")
    assert now_start == now_end and before - timedelta(seconds=5) <= now_start <= after
    assert folder.intervals("multiple_cron") == [
        (m, m) for m in (s + h, s + 3.5 * h, s + d + h, s + d + 3.5 * h)
    ]
    assert folder.intervals("cron_interval_latest") == [(utc(year - 1, 1, 1), utc(year, 1, 1))]
    assert folder.intervals("delta_interval") == [
        (s + k * 12 * h, s + (k + 1) * 12 * h) for k in range(3)
    ]
    assert folder.intervals("events") == [(s + 5 * h,) * 2, (s + 30 * h,) * 2]
    assert folder.intervals("events_latest") == []  # its past event was missed, no catchup
    monday = s + 6 * h
    fridays_run = (monday + 4 * d, monday + 7 * d)  # the weekend's data comes with Monday's
    assert folder.intervals("weekdays") == [
        (monday + k * d, monday + (k + 1) * d) for k in range(4)
    ] + [fridays_run]
    assert folder.intervals("orders_or_yearly") == [(utc(year, 1, 1), utc(year, 1, 1))]

    with folder.store.read() as conn:
        listing = {item.dag_id: item for item in queries.list_dags(conn).dags}
    shown = {dag_id: (item.schedule, item.next_run_after) for dag_id, item in listing.items()}
    assert shown["cron_trigger"] == ("0 1 * * *", None)  # past its end_date
    assert shown["cron_trigger_latest"][0] == "0 0 1 1 *"
    assert aware(shown["cron_trigger_latest"][1]) == utc(year + 1, 1, 1)
    assert shown["delta_trigger_now"][0] == "30 days, 0:00:00"
    assert aware(shown["delta_trigger_now"][1]) == now_start + timedelta(days=30)
    assert shown["multiple_cron"][0] == "0 1 * * *, 30 3 * * *"
    assert shown["events"][0] == "Match days"
    assert aware(shown["events"][1]) == folder.future
    assert shown["events_latest"][0] == "2 events"
    assert shown["weekdays"] == ("weekdays 06:00", None)
    many = ", ".join(f"{m} 4 * * *" for m in range(0, 60, 2))
    assert len(many) > 200 and shown["many_crons"] == (many, None)
    assert shown["orders_or_yearly"][0] == "on dataset updates: s3://shop/orders; or 0 0 1 1 *"
    assert aware(shown["orders_or_yearly"][1]) == utc(year + 1, 1, 1)


def test_a_users_timetable_and_restricted_events_give_manual_runs_their_intervals(
    folder: Folder,
) -> None:
    DagFileProcessor(folder.store, folder.dags, timeout=10, scan_every=1).sync()
    asked = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    with folder.store.write() as conn:
        weekday = runs.create_manual_run(conn, "weekdays", created_by="test", logical_date=asked)
        events = runs.create_manual_run(
            conn, "events_latest", created_by="test", logical_date=asked
        )
        assert weekday is not None and events is not None
        weekday_run, events_run = runs.get_run(conn, weekday), runs.get_run(conn, events)
    six = asked.replace(hour=6)
    assert (aware(weekday_run.data_interval_start), aware(weekday_run.data_interval_end)) == (
        six - timedelta(days=1),
        six,
    )
    past_event = folder.start + timedelta(hours=5)
    assert (aware(events_run.data_interval_start), aware(events_run.data_interval_end)) == (
        past_event,
        past_event,
    )


def test_asset_or_time_also_runs_when_its_asset_is_updated(folder: Folder) -> None:
    DagFileProcessor(folder.store, folder.dags, timeout=10, scan_every=1).sync()
    with folder.store.write() as conn:
        runs.create_manual_run(conn, "export_orders", created_by="test")

    def both_kinds() -> bool:
        with folder.store.read() as conn:
            kinds = conn.execute(
                select(dag_run.c.run_type).where(dag_run.c.dag_id == "orders_or_yearly")
            ).scalars()
            return sorted(kinds) == ["dataset_triggered", "scheduled"]

    run_scheduler(folder.settings(), folder.store, both_kinds, limit=60, what="both kinds of run")


def test_dags_list_shows_each_timetable_and_its_next_run(folder: Folder) -> None:
    scheduled_all(folder)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    environ.update(
        CONVEYOR_HOME=str(folder.tmp / "home"),
        CONVEYOR_DATABASE_URL=folder.store.url,
        CONVEYOR_DAGS_FOLDER=str(folder.dags),
    )
    done = run_cli(environ, "dags", "list", "--output", "json", timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {item["dag_id"]: item for item in json.loads(done.stdout)["dags"]}
    year = datetime.now(UTC).year
    assert listed["events"]["schedule"] == "Match days"
    assert listed["weekdays"]["schedule"] == "weekdays 06:00"
    assert listed["cron_interval_latest"]["schedule"] == "0 0 1 1 *"
    assert listed["cron_interval_latest"]["next_run_after"].startswith(f"{year + 1}-01-01T00:00:00")
    shown = subprocess.run(
        [CONVEYOR, "dags", "show", "events_latest"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "schedule: 2 events (UTC)" in shown.stdout
    assert f"2 events between {folder.start + timedelta(hours=5):%Y-%m-%dT%H:%M:%S}" in shown.stdout
