"""DAGs as Airflow's API answers them (``DAGResponse``, ``DAGDetailsResponse``), made from
what Conveyor's DAG list and DAG detail read."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from conveyor.config import Settings
from conveyor.serialized import SerializedDag
from conveyor.store.reads.dags import DagRow
from conveyor.web.airflow_api import file_tokens
from conveyor.web.airflow_api.common import utc
from conveyor.web.dag_list import DEFAULT_OWNER

BUNDLE_NAME = "dags-folder"  # Airflow's name of the bundle of the DAG folder


class DagTagResponse(BaseModel):
    name: str
    dag_id: str
    dag_display_name: str


class DAGResponse(BaseModel):
    dag_id: str
    dag_display_name: str
    is_paused: bool
    is_stale: bool
    last_parsed_time: datetime | None = None
    last_parse_duration: float | None = None
    last_expired: datetime | None = None
    bundle_name: str | None = BUNDLE_NAME
    bundle_version: str | None = None
    relative_fileloc: str | None
    fileloc: str
    description: str | None
    timetable_summary: str | None
    timetable_description: str | None
    timetable_partitioned: bool = False
    timetable_periodic: bool
    tags: list[DagTagResponse]
    max_active_tasks: int
    max_active_runs: int | None
    max_consecutive_failed_dag_runs: int = 0
    has_task_concurrency_limits: bool
    has_import_errors: bool = False
    next_dagrun_logical_date: datetime | None
    next_dagrun_data_interval_start: datetime | None = None
    next_dagrun_data_interval_end: datetime | None = None
    next_dagrun_run_after: datetime | None
    allowed_run_types: list[str] | None = None
    owners: list[str]
    is_backfillable: bool
    file_token: str


class DAGDetailsResponse(DAGResponse):
    catchup: bool
    dag_run_timeout: str | None = None
    asset_expression: dict[str, Any] | None = None
    doc_md: str | None
    start_date: datetime | None
    end_date: datetime | None
    is_paused_upon_creation: bool | None = None
    params: dict[str, Any] | None
    render_template_as_native_obj: bool = False
    template_search_path: list[str] | None = None
    timezone: str | None
    last_parsed: datetime | None = None
    default_args: dict[str, Any] | None = None
    is_favorite: bool = False
    active_runs_count: int = 0
    concurrency: int
    latest_dag_version: dict[str, Any] | None = None


class DAGCollectionResponse(BaseModel):
    dags: list[DAGResponse]
    total_entries: int


class DAGPatchBody(BaseModel):
    is_paused: bool = Field(description="pause (true) or unpause (false)")


def _relative(fileloc: str, dags_folder: Path | None) -> str | None:
    if dags_folder is None:
        return None
    try:
        return str(Path(fileloc).relative_to(dags_folder))
    except ValueError:
        return None


def _owners(dag: SerializedDag) -> list[str]:
    return sorted({str(t.raw.get("owner") or DEFAULT_OWNER) for t in dag.tasks.values()})


def dag_fields(
    row: DagRow,
    dag: SerializedDag,
    settings: Settings,
    display_name: str | None = None,
    last_parsed: datetime | None = None,
) -> dict[str, Any]:
    """The fields of ``DAGResponse`` for a DAG's row and its current version; its
    ``file_token`` is the file's path signed (``file_tokens``), ``last_parsed`` when its file
    was last parsed."""
    name = display_name or dag.display_name or row.dag_id
    schedule = row.schedule
    return {
        "dag_id": row.dag_id,
        "dag_display_name": name,
        "is_paused": row.is_paused,
        "is_stale": not row.is_active,
        "relative_fileloc": _relative(row.fileloc, settings.dags_folder),
        "fileloc": row.fileloc,
        "description": row.description,
        "timetable_summary": schedule if schedule and schedule != "None" else None,
        "timetable_description": dag.raw.get("schedule_description"),
        "timetable_periodic": bool(schedule) and schedule not in ("None", "@once"),
        "timetable_partitioned": dag.schedule.partitioned,
        "tags": [
            DagTagResponse(name=t, dag_id=row.dag_id, dag_display_name=name) for t in row.tags
        ],
        "max_active_tasks": dag.max_active_tasks,
        "max_active_runs": dag.max_active_runs,
        "has_task_concurrency_limits": bool(dag.task_limited),
        "next_dagrun_logical_date": utc(row.next_run_after),
        "next_dagrun_run_after": utc(row.next_run_after),
        "owners": _owners(dag),
        "is_backfillable": bool(schedule) and schedule not in ("None", "@once"),
        "file_token": file_tokens.sign(settings, row.fileloc),
        "last_parsed_time": utc(last_parsed),
    }


def dag_response(
    row: DagRow,
    dag: SerializedDag,
    settings: Settings,
    display_name: str | None = None,
    last_parsed: datetime | None = None,
) -> DAGResponse:
    return DAGResponse(**dag_fields(row, dag, settings, display_name, last_parsed))


def dag_details(
    row: DagRow, dag: SerializedDag, settings: Settings, last_parsed: datetime | None = None
) -> DAGDetailsResponse:
    raw = dag.raw
    return DAGDetailsResponse(
        **dag_fields(row, dag, settings, last_parsed=last_parsed),
        catchup=dag.catchup,
        doc_md=raw.get("doc_md"),
        start_date=utc(dag.start_date),
        end_date=utc(dag.end_date),
        params={
            name: param_shape(value, dag.param_specs.get(name))
            for name, value in dag.params.items()
        },
        timezone=raw.get("timezone"),
        concurrency=dag.max_active_tasks,
    )


def param_shape(value: Any, spec: dict[str, Any] | None) -> dict[str, Any]:
    """A param as Airflow's details show one: its value, description and JSON schema."""
    spec = spec or {}
    return {
        "value": value,
        "description": spec.get("description"),
        "schema": spec.get("schema") or {},
    }
