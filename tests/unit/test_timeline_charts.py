"""The geometry of the server-drawn timeline charts and when a run is due, without a database
or a browser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.timeline import TryTimes
from conveyor.web.timeline import (
    Calendar,
    CalendarDay,
    Gantt,
    GanttBar,
    LandingPoint,
    LandingTimes,
    bars_of,
    landing_point,
)
from conveyor.web.ui import charts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _bar(task_id: str, try_number: int | None, state: str, **times: datetime | None) -> GanttBar:
    return GanttBar(
        task_id=task_id,
        map_index=times.pop("map_index", -1),  # type: ignore[arg-type]
        try_number=try_number,
        state=state,
        queued_at=times.get("queued_at"),
        start_date=times.get("start_date"),
        end_date=times.get("end_date"),
    )


def _gantt(*bars: GanttBar) -> Gantt:
    return Gantt(
        dag_id="d",
        run_id="r 1",
        state="running",
        logical_date=T0,
        queued_at=T0,
        start_date=T0,
        end_date=None,
        bars=list(bars),
    )


def test_each_try_gets_a_row_on_one_time_axis() -> None:
    first = _bar("t", 1, "up_for_retry", start_date=T0, end_date=T0 + timedelta(seconds=10))
    second = _bar(
        "t",
        2,
        "success",
        queued_at=T0 + timedelta(seconds=12),
        start_date=T0 + timedelta(seconds=15),
        end_date=T0 + timedelta(seconds=30),
    )
    chart = charts.gantt_chart(_gantt(first, second), T0 + timedelta(minutes=5))
    one, two = chart.rows
    assert (one.label, two.label) == ("t · try 1", "t · try 2")
    assert one.ran is not None and two.ran is not None and two.queued is not None
    # Try 1 starts at the left edge and spans a third of the axis (10 of 30 s).
    assert one.ran[0] == charts.GANTT_LABEL
    assert abs(one.ran[1] - charts.GANTT_PLOT / 3) < 0.2
    # Try 2 waits (queued) and then runs, right after the wait.
    assert one.ran[0] + one.ran[1] < two.queued[0] < two.ran[0]
    assert abs(two.queued[0] + two.queued[1] - two.ran[0]) < 0.2
    assert two.href == "/dags/d/runs/r%201/tasks/t?try=2"
    assert two.y > one.y
    assert chart.ticks[0] == (charts.GANTT_LABEL, "12:00:00")


def test_a_running_try_reaches_now_and_a_mapped_instance_links_to_its_page() -> None:
    now = T0 + timedelta(seconds=60)
    running = _bar("m", 1, "running", map_index=3, start_date=T0)
    waiting = _bar("w", None, "none")
    queued = _bar("q", 2, "queued", queued_at=T0)
    chart = charts.gantt_chart(_gantt(running, waiting, queued), now)
    ran, pending, next_try = chart.rows
    assert ran.ran is not None
    assert ran.ran[0] + ran.ran[1] == charts.GANTT_LABEL + charts.GANTT_PLOT
    assert ran.href == "/dags/d/runs/r%201/tasks/m/mapped/3?try=1"
    assert ran.label == "m [3] · try 1"
    assert pending.ran is None and pending.queued is None
    assert pending.label == "w · no try yet"
    assert next_try.label == "q · try 2 (queued)" and next_try.ran is None
    assert next_try.queued is not None and next_try.queued[0] == charts.GANTT_LABEL


def test_durations_read_like_the_pages_script() -> None:
    assert charts.duration(0.85) == "850 ms"
    assert charts.duration(12.34) == "12.3 s"
    assert charts.duration(245) == "4 min 05 s"
    assert charts.duration(7260) == "2 h 01 min"
    assert charts.duration(-3) == "-3.00 s"
    assert charts.duration(None) == "—"


def test_landing_bars_scale_to_the_longest_and_skip_unfinished_runs() -> None:
    def point(run_id: str, landing: float | None) -> LandingPoint:
        return LandingPoint(
            run_id=run_id,
            run_type="scheduled",
            state="success" if landing is not None else "running",
            logical_date=T0,
            due_at=T0,
            start_date=T0,
            end_date=None,
            landing_seconds=landing,
            duration_seconds=None,
        )

    data = LandingTimes(dag_id="d", runs=[point("a", 30.0), point("b", None), point("c", 60.0)])
    chart = charts.run_bars(data, "landing_seconds", "d")
    assert [b["run_id"] for b in chart.bars] == ["a", "c"]
    short, long = chart.bars
    assert abs(long["height"] - 2 * short["height"]) < 1
    assert long["href"] == "/dags/d/gantt?run=c"
    assert chart.ticks[0][1] == "0"


def test_the_calendar_lays_out_every_day_of_the_year_in_week_columns() -> None:
    day = CalendarDay(date=date(2026, 3, 4), state="failed", counts={"failed": 1, "success": 2})
    chart = charts.calendar_chart(
        Calendar(dag_id="d", year=2026, years=[2026], days=[day], truncated=False)
    )
    assert len(chart.days) == 365
    [shown] = [d for d in chart.days if d["state"]]
    assert shown["date"] == "2026-03-04" and shown["title"] == "2026-03-04: 1 failed, 2 success"
    assert shown["href"] == (
        "/runs?dag_id=d&logical_date_gte=2026-03-04T00%3A00%3A00Z"
        "&logical_date_lte=2026-03-04T23%3A59%3A59.999Z"
    )
    # 2026-01-01 is a Thursday: row 3 of the first column; Monday 2026-01-05 opens column 2.
    first, monday = chart.days[0], chart.days[4]
    assert first["y"] == charts.CAL_TOP + 3 * (charts.CELL + charts.GAP)
    assert monday["x"] == first["x"] + charts.CELL + charts.GAP and monday["y"] == charts.CAL_TOP
    assert [label for _, label in chart.months][:2] == ["Jan", "Feb"]
    # The last and first years a calendar shows lay out without overflowing the date type.
    for year in (1, 9998):
        empty = Calendar(dag_id="d", year=year, years=[], days=[], truncated=False)
        assert len(charts.calendar_chart(empty).days) == 365


def test_a_run_mapped_wide_draws_at_most_the_row_limit() -> None:
    bars = [
        _bar("m", 1, "success", map_index=i, start_date=T0, end_date=T0 + timedelta(seconds=1))
        for i in range(charts.GANTT_ROWS + 5)
    ]
    chart = charts.gantt_chart(_gantt(*bars), T0)
    assert len(chart.rows) == charts.GANTT_ROWS and chart.hidden == 5
    assert chart.height == charts.GANTT_TOP + charts.GANTT_ROWS * charts.GANTT_ROW + 10


def _listing(run_type: str, start: datetime, end: datetime) -> RunListing:
    return RunListing(
        id=1,
        dag_id="d",
        run_id=f"{run_type}__1",
        run_type=run_type,
        state="success",
        logical_date=start,
        data_interval_start=start,
        data_interval_end=end,
        conf={},
        created_by=None,
        queued_at=end,
        start_date=end + timedelta(minutes=1),
        end_date=end + timedelta(minutes=6),
        note=None,
        user_note=None,
        version_hash="0" * 64,
    )


def test_a_run_is_due_at_the_end_of_its_interval_or_else_at_its_logical_date() -> None:
    daily = landing_point(_listing("scheduled", T0, T0 + timedelta(days=1)))
    assert daily.due_at == T0 + timedelta(days=1)
    assert daily.landing_seconds == 360.0 and daily.duration_seconds == 300.0
    manual = landing_point(_listing("manual", T0, T0))
    assert manual.due_at == T0 and manual.landing_seconds == 360.0


def _row(task_id: str, instance: str, current: int, number: int | None, **more: object) -> TryTimes:
    return TryTimes(
        task_id=task_id,
        map_index=-1,
        instance_state=instance,
        instance_try=current,
        queued_at=T0,
        try_number=number,
        state=more.get("state"),  # type: ignore[arg-type]
        start_date=more.get("start_date"),  # type: ignore[arg-type]
        end_date=more.get("end_date"),  # type: ignore[arg-type]
        hostname=None,
    )


def test_an_instance_waiting_for_its_next_try_gets_a_bar_for_it() -> None:
    ended = {"start_date": T0, "end_date": T0 + timedelta(seconds=1)}
    rows = [
        _row("retried", "queued", 2, 1, state="up_for_retry", **ended),
        _row("never", "upstream_failed", 0, None),
        _row("done", "success", 1, 1, state="success", **ended),
    ]
    bars = [(b.task_id, b.try_number, b.state, b.queued_at is not None) for b in bars_of(rows)]
    assert bars == [
        ("retried", 1, "up_for_retry", False),  # not the current try: its queue time is gone
        ("retried", 2, "queued", True),
        ("never", None, "upstream_failed", True),
        ("done", 1, "success", True),
    ]
