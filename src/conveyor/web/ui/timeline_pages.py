"""What a DAG page's timeline tabs show: a run's Gantt chart, landing times, the calendar.

``tab_context`` adds a tab's data and drawn chart to the DAG page's context; the charts
are SVG the template writes (conveyor.web.ui.charts), the same data the API serves.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from conveyor.clock import utcnow
from conveyor.exceptions import NotFoundError
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.web import timeline
from conveyor.web.ui import charts

TIMELINE_TABS = ("gantt", "landing-times", "calendar")
PICKER_RUNS = 50  # runs the Gantt tab's picker offers
LANDING_RUNS = 50


def _year(request: Request) -> int | None:
    """The ?year= of the calendar, if it is one it can show (else: the default year)."""
    given = request.query_params.get("year", "")
    if given.isdigit() and len(given) <= 4:
        number = int(given)
        if timeline.YEARS[0] <= number <= timeline.YEARS[1]:
            return number
    return None


def _gantt(conn: Connection, request: Request, dag_id: str) -> dict[str, Any]:
    recent = run_reads.latest_by_date(conn, dag_id, PICKER_RUNS)
    wanted = request.query_params.get("run") or (recent[0].run_id if recent else None)
    context: dict[str, Any] = {"picker": [(r.run_id, r.state) for r in recent]}
    if wanted is None:
        return context
    data = timeline.gantt(conn, dag_id, wanted)  # NotFoundError: a page "no such run"
    if wanted not in {r.run_id for r in recent}:
        context["picker"].append((data.run_id, data.state))
    context["gantt"] = data.model_dump(mode="json")
    context["chart"] = charts.gantt_chart(data, utcnow())
    context["run_id"] = wanted
    return context


def _landing(conn: Connection, dag_id: str) -> dict[str, Any]:
    data = timeline.landing_times(conn, dag_id, LANDING_RUNS)
    return {
        "landing": data,
        "landing_chart": charts.run_bars(data, "landing_seconds", dag_id),
        "duration_chart": charts.run_bars(data, "duration_seconds", dag_id),
        "duration": charts.duration,
    }


def _calendar(conn: Connection, request: Request, dag_id: str) -> dict[str, Any]:
    data = timeline.calendar(conn, dag_id, _year(request))
    return {"calendar": data, "calendar_chart": charts.calendar_chart(data)}


def tab_context(conn: Connection, request: Request, dag_id: str, tab: str) -> dict[str, Any]:
    """The data of a timeline tab; NotFoundError for a run the query names that is unknown."""
    if tab == "gantt":
        return _gantt(conn, request, dag_id)
    if tab == "landing-times":
        return _landing(conn, dag_id)
    if tab == "calendar":
        return _calendar(conn, request, dag_id)
    raise NotFoundError(f"no timeline tab {tab!r}")
