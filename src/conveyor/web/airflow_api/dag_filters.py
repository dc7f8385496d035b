"""Airflow's filters of ``GET /api/v2/dags`` beyond ids, tags, owners and pause: a DAG's
file failing to load, its runs, its bundle, favourites, its kind of timetable and the
assets it is scheduled on, over the DAGs :mod:`conveyor.web.dag_list` lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from conveyor.model.schedules import DatasetSchedule
from conveyor.store.engine import Connection
from conveyor.store.reads import dag_filters
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import TextFilters
from conveyor.web.airflow_api.dag_shapes import BUNDLE_NAME
from conveyor.web.dag_list import ListedDag

#: Conveyor's kinds of schedule by the name Airflow gives its timetable (``timetable_type``).
TIMETABLE_TYPES = {
    "cron": "CronDataIntervalTimetable",
    "cron_interval": "CronDataIntervalTimetable",
    "timedelta": "DeltaDataIntervalTimetable",
    "delta_interval": "DeltaDataIntervalTimetable",
    "cron_trigger": "CronTriggerTimetable",
    "delta_trigger": "DeltaTriggerTimetable",
    "multiple_cron_trigger": "MultipleCronTriggerTimetable",
    "events": "EventsTimetable",
    "datasets": "AssetTriggeredTimetable",
    "datasets_or_time": "AssetOrTimeSchedule",
    "once": "OnceTimetable",
    "none": "NullTimetable",
}


@dataclass(frozen=True)
class DagFilters:
    texts: TextFilters = field(default_factory=dict)  # "dag_display_name" only
    has_import_errors: bool | None = None
    dag_run_states: tuple[str, ...] = ()  # a run in one of these states
    newest_run: dict[str, datetime] = field(default_factory=dict)  # "start_date_gte" ...
    bundle_name: str | None = None
    bundle_version: str | None = None
    timetable_types: tuple[str, ...] = ()
    has_asset_schedule: bool | None = None
    asset_dependency: str | None = None


def _timetable_type(conn: Connection, version_hash: str) -> str:
    kind = serialized_dag(conn, version_hash).raw.get("schedule", {}).get("type", "none")
    return TIMETABLE_TYPES.get(str(kind), str(kind))


def _assets(conn: Connection, version_hash: str) -> list[str] | None:
    """The asset URIs (and alias keys) the DAG is scheduled on; None: not on assets."""
    schedule = serialized_dag(conn, version_hash).schedule
    return list(schedule.uris) if isinstance(schedule, DatasetSchedule) else None


def apply(conn: Connection, dags: list[ListedDag], wanted: DagFilters) -> list[ListedDag]:
    """The DAGs of ``dags`` that ``wanted`` keeps (Conveyor has one bundle, ``dags-folder``,
    without versions)."""
    if (
        wanted.bundle_name is not None and wanted.bundle_name != BUNDLE_NAME
    ) or wanted.bundle_version is not None:
        return []
    keep = set(d.row.dag_id for d in dags)
    if wanted.has_import_errors is not None:
        broken = dag_filters.with_import_errors(conn)
        keep = keep & broken if wanted.has_import_errors else keep - broken
    if wanted.dag_run_states:
        keep &= dag_filters.with_run_in_states(conn, wanted.dag_run_states)
    if wanted.newest_run:
        keep &= dag_filters.newest_run_within(conn, wanted.newest_run)
    name = wanted.texts.get("dag_display_name")
    found = []
    for dag in dags:
        row = dag.row
        if row.dag_id not in keep:
            continue
        if name is not None and not name(dag.facts.display_name or row.dag_id):
            continue
        if (
            wanted.timetable_types
            and _timetable_type(conn, row.version_hash) not in wanted.timetable_types
        ):
            continue
        if wanted.has_asset_schedule is not None or wanted.asset_dependency:
            assets = _assets(conn, row.version_hash)
            if wanted.has_asset_schedule is not None and (assets is not None) != (
                wanted.has_asset_schedule
            ):
                continue
            text = (wanted.asset_dependency or "").lower()
            if text and not any(text in uri.lower() for uri in assets or ()):
                continue
        found.append(dag)
    return found
