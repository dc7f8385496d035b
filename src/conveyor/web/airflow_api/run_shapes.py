"""DAG runs as Airflow's API answers them (``DAGRunResponse`` and the bodies it takes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from conveyor.states import RunPatchStateName, RunStateName
from conveyor.store.engine import Connection
from conveyor.store.reads.runs import RunListing
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.batch_bounds import BatchBounds
from conveyor.web.airflow_api.common import UtcTime, utc
from conveyor.web.row_shapes import FromRow, RowAnswer, fill
from conveyor.web.strict_json import StrictDict

RunState = RunStateName
#: Conveyor's run types under Airflow's names.
RUN_TYPES = {
    "dataset_triggered": "asset_triggered",
    "asset_materialize": "asset_materialization",
}
Note = Annotated[str | None, Field(max_length=1000)]


class DAGRunResponse(RowAnswer):
    # A run's read row under Airflow's names and in its order; the fields the row does not
    # hold as Airflow shows them are declared below.
    __row__ = FromRow(
        RunListing,
        shown=(
            "dag_run_id",
            "dag_id",
            "logical_date",
            "queued_at",
            "start_date",
            "end_date",
            "duration",
            "data_interval_start",
            "data_interval_end",
            "run_after",
            "last_scheduling_decision",
            "run_type",
            "state",
            "triggered_by",
            "triggering_user_name",
            "conf",
            "note",
            "dag_versions",
            "bundle_version",
            "dag_display_name",
            "partition_key",
            "partition_date",
        ),
        renamed={"dag_run_id": "run_id", "note": "user_note"},
        nullable=("logical_date", "queued_at", "data_interval_start", "data_interval_end", "conf"),
        time=UtcTime,
        described=False,
    )
    duration: float | None
    run_after: datetime
    last_scheduling_decision: datetime | None = None
    state: RunState
    triggered_by: str | None
    triggering_user_name: str | None
    dag_versions: list[dict[str, Any]] = Field(default_factory=list)
    bundle_version: str | None = None
    dag_display_name: str


class DAGRunCollectionResponse(BaseModel):
    dag_runs: list[DAGRunResponse]
    total_entries: int | None
    total_entries_limit: int | None = None  # set with a cursor: total_entries counts to it
    next_cursor: str | None = None
    previous_cursor: str | None = None


class TriggerDAGRunPostBody(BaseModel):
    """Airflow's body; ``logical_date`` must be given (``null``: none, Conveyor takes now)."""

    model_config = ConfigDict(extra="forbid")

    dag_run_id: str | None = Field(default=None, min_length=1, max_length=250)
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    logical_date: datetime | None
    run_after: datetime | None = None
    conf: StrictDict | None = None
    note: Note = None
    partition_key: str | None = None


class DAGRunPatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: RunPatchStateName | None = None
    note: Note = None


class DAGRunClearBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = True
    only_failed: bool = False
    only_new: bool = False
    run_on_latest_version: bool | None = None
    note: Note = None


def refuse_other_versions(only_new: bool, run_on_latest_version: bool | None) -> None:
    """400 for a clear of runs that asks for Airflow's ``only_new`` or
    ``run_on_latest_version``: Conveyor clears on each run's own DAG version."""
    if only_new or run_on_latest_version:
        raise HTTPException(
            400,
            "only_new and run_on_latest_version: Conveyor clears on the run's own DAG version "
            "and clears every task instance (or only the failed ones)",
        )


class _RunsBatchHead(BaseModel):
    order_by: str | None = Field(default=None, max_length=50)
    page_offset: int = Field(default=0, ge=0, le=2**31 - 1)
    page_limit: int = Field(default=100, ge=0)
    dag_ids: list[Annotated[str, Field(max_length=250)]] | None = None
    states: list[RunState | None] | None = None


class DAGRunsBatchBody(BatchBounds, _RunsBatchHead):
    model_config = ConfigDict(extra="forbid")

    conf_contains: str | None = Field(default=None, max_length=1000)


def triggered_by(run: RunListing) -> tuple[str | None, str | None]:
    """Airflow's ``triggered_by`` and ``triggering_user_name`` of a run."""
    creator = run.created_by or ""
    if run.run_type == "scheduled":
        return "timetable", None
    if run.run_type == "backfill":
        return "backfill", creator.removeprefix("user:") or None
    if run.run_type == "dataset_triggered":
        return "asset", None
    if creator.startswith("user:"):
        return "rest_api", creator.removeprefix("user:")
    if creator.startswith("cli"):
        return "cli", None
    if creator.startswith(("task:", "operator")):
        return "operator", None
    return "rest_api", None


#: Run types that may run once their data interval has ended; the others as soon as made.
_AFTER_INTERVAL = ("scheduled", "backfill")


def run_after(run: RunListing) -> datetime:
    """When the run may run, as Airflow 3 says it: a scheduled or backfill run once its
    interval has ended; a manual trigger or an asset event's run when it was made (queued),
    whatever logical date it carries."""
    when = run.data_interval_end if run.run_type in _AFTER_INTERVAL else run.queued_at
    value = utc(when)
    assert value is not None
    return value


def duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def dag_run_response(conn: Connection, run: RunListing) -> DAGRunResponse:
    by, user = triggered_by(run)
    dag = serialized_dag(conn, run.version_hash)
    return fill(
        DAGRunResponse,
        run,
        duration=duration(run.start_date, run.end_date),
        run_after=run_after(run),
        run_type=RUN_TYPES.get(run.run_type, run.run_type),
        triggered_by=by,
        triggering_user_name=user,
        conf=run.conf or {},
        dag_display_name=dag.display_name or run.dag_id,
    )
