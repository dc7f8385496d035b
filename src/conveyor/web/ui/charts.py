"""Geometry of the server-drawn charts: the Gantt chart, landing-time bars, the calendar.

Each function turns a read-model shape (conveyor.web.timeline) into plain numbers and
labels that a template writes as SVG; no script is needed to see them, and the CSP's
``script-src 'self'`` has nothing to allow. Times are labelled in UTC and carry their instant
(``data-at``, ``data-times``), which the page's script shows in the browser's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from conveyor.web.timeline import Calendar, Gantt, GanttBar, LandingTimes

GANTT_LABEL = 300.0  # room for the task labels, left of the bars
GANTT_PLOT = 900.0
GANTT_ROW = 24.0
GANTT_TOP = 26.0  # room for the time axis
GANTT_ROWS = 1000  # rows drawn at most: a page stays light for a run mapped wide
STEPS = (
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    86400,
)


def duration(seconds: float | None) -> str:
    """'850 ms', '12.3 s', '4 min 05 s', '2 h 01 min' (as the pages' script writes them)."""
    if seconds is None:
        return "—"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 1:
        return f"{sign}{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{sign}{seconds:.{2 if seconds < 10 else 1}f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{sign}{minutes} min {round(seconds % 60):02d} s"
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"


def _step(span: float, ticks: int = 6) -> float:
    """A round step that cuts ``span`` seconds into about ``ticks`` pieces."""
    wanted = span / ticks
    return float(
        next((s for s in STEPS if s >= wanted), STEPS[-1] * (1 + int(wanted // STEPS[-1])))
    )


def _seg(value: str) -> str:
    return quote(value, safe="")


def task_path(
    dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int | None
) -> str:
    """The app path of a task instance's page (at this try)."""
    path = f"/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/tasks/{_seg(task_id)}"
    if map_index >= 0:
        path += f"/mapped/{map_index}"
    return path + (f"?try={try_number}" if try_number else "")


@dataclass
class GanttRow:
    y: float
    bar: GanttBar
    label: str
    href: str
    title: str
    queued: tuple[float, float] | None = None  # x and width of the wait before the start
    ran: tuple[float, float] | None = None  # x and width from start to end (or now)
    times: dict[str, str] = field(default_factory=dict)  # the title's times, ISO, by word


@dataclass
class Canvas:
    """The size of a chart's SVG, which the templates write as its width, height and viewBox."""

    width: float
    height: float


@dataclass
class GanttChart(Canvas):
    label_width: float
    rows: list[GanttRow] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    tick_times: list[str] = field(default_factory=list)  # each tick's instant, ISO
    tick_step: float = 1.0  # seconds between ticks
    origin: datetime | None = None
    hidden: int = 0  # tries beyond GANTT_ROWS, not drawn


def _bar_title(bar: GanttBar, label: str) -> str:
    lines = [label, bar.state]
    if bar.queued_at:
        lines.append(f"queued {bar.queued_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    if bar.start_date:
        lines.append(f"started {bar.start_date.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    if bar.end_date:
        lines.append(f"ended {bar.end_date.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    if bar.start_date and bar.end_date:
        lines.append(duration((bar.end_date - bar.start_date).total_seconds()))
    if bar.hostname:
        lines.append(f"on {bar.hostname}")
    return "\n".join(lines)


def gantt_chart(data: Gantt, now: datetime) -> GanttChart:
    """One row per try: the wait from queued to start, then the bar from start to end (to
    ``now`` while it runs), on one time axis from the earliest time shown."""
    times = [t for b in data.bars for t in (b.queued_at, b.start_date, b.end_date) if t]
    chart = GanttChart(
        width=GANTT_LABEL + GANTT_PLOT + 20, height=GANTT_TOP + 10, label_width=GANTT_LABEL
    )
    origin = min(times, default=None)
    end = max(
        [*times, *([now] if any(b.start_date and not b.end_date for b in data.bars) else [])],
        default=None,
    )
    span = max((end - origin).total_seconds(), 1.0) if origin and end else 1.0
    scale = GANTT_PLOT / span

    def x(at: datetime) -> float:
        assert origin is not None
        return round(GANTT_LABEL + (at - origin).total_seconds() * scale, 1)

    shown = data.bars[:GANTT_ROWS]
    chart.hidden = len(data.bars) - len(shown)
    for i, bar in enumerate(shown):
        name = bar.task_id + (f" [{bar.map_index}]" if bar.map_index >= 0 else "")
        label = f"{name} · try {bar.try_number}" if bar.try_number else f"{name} · no try yet"
        if bar.try_number and bar.start_date is None:
            label += f" ({bar.state})"  # numbered, not started: scheduled or queued
        row = GanttRow(
            y=GANTT_TOP + i * GANTT_ROW,
            bar=bar,
            label=label,
            href=task_path(data.dag_id, data.run_id, bar.task_id, bar.map_index, bar.try_number),
            title=_bar_title(bar, label),
            times={
                word: at.isoformat()
                for word, at in (
                    ("queued", bar.queued_at),
                    ("started", bar.start_date),
                    ("ended", bar.end_date),
                )
                if at
            },
        )
        started = bar.start_date
        if bar.queued_at and origin:
            until = started or bar.end_date or now
            row.queued = (x(bar.queued_at), max(1.0, x(until) - x(bar.queued_at)))
        if started and origin:
            stop = bar.end_date or now
            row.ran = (x(started), max(2.0, x(stop) - x(started)))
        chart.rows.append(row)
    chart.height = GANTT_TOP + len(shown) * GANTT_ROW + 10
    if origin:
        chart.origin = origin
        step = _step(span)
        ticks = int(span // step) + 1
        chart.ticks = [
            (
                x(origin + timedelta(seconds=k * step)),
                _tick(origin + timedelta(seconds=k * step), step),
            )
            for k in range(ticks)
        ]
        chart.tick_times = [
            (origin + timedelta(seconds=k * step)).isoformat() for k in range(ticks)
        ]
        chart.tick_step = step
    return chart


def _tick(at: datetime, step: float) -> str:
    at = at.astimezone(UTC)
    if step < 1:
        return f"{at:%H:%M:%S}.{at.microsecond // 100_000}"
    return f"{at:%H:%M:%S}" if step < 60 else f"{at:%H:%M}" if step < 86400 else f"{at:%m-%d}"


# -- bars per run (landing times, durations) ---------------------------------------------------

BARS_HEIGHT = 220.0
BARS_PAD = {"left": 80.0, "right": 16.0, "top": 12.0, "bottom": 30.0}


@dataclass
class BarChart(Canvas):
    bars: list[dict[str, Any]]
    ticks: list[tuple[float, str]]
    labels: list[tuple[float, str]]
    baseline: float


def run_bars(data: LandingTimes, what: str, dag_id: str) -> BarChart:
    """A bar per run of ``what`` (landing_seconds or duration_seconds), coloured by state."""
    points = data.runs
    width = max(480.0, min(1200.0, 24.0 * len(points) + 120))
    plot_w = width - BARS_PAD["left"] - BARS_PAD["right"]
    plot_h = BARS_HEIGHT - BARS_PAD["top"] - BARS_PAD["bottom"]
    values = [max(0.0, getattr(p, what)) for p in points if getattr(p, what) is not None]
    top_value = max(values, default=1.0) or 1.0
    step = _step(top_value, 4)
    top = step * (int(top_value // step) + 1)
    slot = plot_w / max(1, len(points))
    bar_w = max(3.0, min(28.0, slot * 0.7))

    def y(v: float) -> float:
        return round(BARS_PAD["top"] + plot_h - v / top * plot_h, 1)

    bars = []
    for i, p in enumerate(points):
        value = getattr(p, what)
        if value is None:
            continue
        shown = max(0.0, value)
        bars.append(
            {
                "run_id": p.run_id,
                "state": p.state,
                "x": round(BARS_PAD["left"] + i * slot + (slot - bar_w) / 2, 1),
                "y": y(shown),
                "width": round(bar_w, 1),
                "height": round(max(1.0, y(0) - y(shown)), 1),
                "href": f"/dags/{_seg(dag_id)}/gantt?{urlencode({'run': p.run_id})}",
                "title": f"{p.run_id}\n{p.state} · {duration(value)}",
            }
        )
    ticks = [(y(k * step), duration(k * step) if k else "0") for k in range(round(top / step) + 1)]
    every = max(1, -(-len(points) // 8))
    labels = [
        (
            round(BARS_PAD["left"] + i * slot + slot / 2, 1),
            f"{p.logical_date.astimezone(UTC):%m-%d %H:%M}",
        )
        for i, p in enumerate(points)
        if i % every == 0
    ]
    return BarChart(width, BARS_HEIGHT, bars, ticks, labels, y(0))


# -- calendar ---------------------------------------------------------------------------------

CELL = 13.0
GAP = 3.0
CAL_LEFT = 30.0
CAL_TOP = 18.0


@dataclass
class CalendarChart(Canvas):
    days: list[dict[str, Any]]
    months: list[tuple[float, str]]
    weekdays: list[tuple[float, str]]


def runs_link(dag_id: str, day: date) -> str:
    """The runs page filtered to this DAG and this UTC day of logical date."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1) - timedelta(microseconds=1000)
    query = {
        "dag_id": dag_id,
        "logical_date_gte": start.isoformat().replace("+00:00", "Z"),
        "logical_date_lte": end.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return "/runs?" + urlencode(query)


def calendar_chart(data: Calendar) -> CalendarChart:
    """A year of days, a column per week (Monday on top), each day with its runs' state."""
    first = date(data.year, 1, 1)
    monday = first - timedelta(days=first.weekday())
    found = {d.date: d for d in data.days}
    days = []
    months: list[tuple[float, str]] = []
    for offset in range((date(data.year, 12, 31) - first).days + 1):
        day = first + timedelta(days=offset)
        week = (day - monday).days // 7
        x = CAL_LEFT + week * (CELL + GAP)
        if day.day == 1:
            months.append((x, f"{day:%b}"))
        runs = found.get(day)
        days.append(
            {
                "date": day.isoformat(),
                "x": x,
                "y": CAL_TOP + day.weekday() * (CELL + GAP),
                "state": runs.state if runs else None,
                "counts": runs.counts if runs else {},
                "title": day.isoformat()
                + (
                    ": " + ", ".join(f"{n} {s}" for s, n in runs.counts.items())
                    if runs
                    else ": no runs"
                ),
                "href": runs_link(data.dag_id, day) if runs else None,
            }
        )
    weeks = (date(data.year, 12, 31) - monday).days // 7 + 1
    weekdays = [
        (CAL_TOP + i * (CELL + GAP) + CELL - 2, name)
        for i, name in ((0, "Mon"), (2, "Wed"), (4, "Fri"))
    ]
    return CalendarChart(
        width=CAL_LEFT + weeks * (CELL + GAP) + 10,
        height=CAL_TOP + 7 * (CELL + GAP) + 4,
        days=days,
        months=months,
        weekdays=weekdays,
    )
