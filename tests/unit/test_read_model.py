"""The read model's two declarations agree: each API model is filled from its store row by
field name (``schemas.from_row``), so every field the model shows that the caller does not
compute must be on the row, and nothing secret on a row is a field of what is shown."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from conveyor.store.liveness import SchedulerBeat, TriggererBeat, WorkerBeat
from conveyor.store.problems import SchedulerProblem
from conveyor.store.reads.dags import ImportErrorRow, RecentRun
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.task_lists import ListedInstance
from conveyor.store.reads.tasks import InstanceRow, XComRow
from conveyor.store.reads.timeline import TryTimes
from conveyor.store.reads.versions import VersionRow, VersionRun
from conveyor.store.users import TokenRow, UserRow
from conveyor.web import schemas, timeline, versions
from conveyor.web.schemas import from_row

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

#: (what is shown, the row it is filled from, the fields its caller computes)
FILLED_FROM: list[tuple[type[BaseModel], type, set[str]]] = [
    (schemas.RecentRun, RecentRun, set()),
    (schemas.DagImportError, ImportErrorRow, {"file"}),
    (schemas.Run, RunListing, set()),
    (schemas.RunDetail, RunListing, {"task_states"}),
    (schemas.GridRun, RunListing, {"tasks", "codes", "mapped"}),
    (schemas.TaskInstance, InstanceRow, {"duration"}),
    (schemas.ListedTaskInstance, ListedInstance, {"duration"}),
    (schemas.XComValue, XComRow, set()),
    (schemas.Worker, WorkerBeat, {"alive"}),
    (schemas.SchedulerInfo, SchedulerBeat, {"alive"}),
    (schemas.TriggererInfo, TriggererBeat, {"alive"}),
    (schemas.SchedulerProblemInfo, SchedulerProblem, set()),
    (schemas.UserInfo, UserRow, set()),
    (schemas.TokenInfo, TokenRow, {"expired"}),
    (versions.DagVersion, VersionRow, set()),
    (versions.VersionRunRef, VersionRun, set()),
    (timeline.GanttBar, TryTimes, {"state", "queued_at"}),
    (timeline.Gantt, RunListing, {"bars"}),
]


@pytest.mark.parametrize(
    ("model", "row", "computed"), FILLED_FROM, ids=[m.__name__ for m, _, _ in FILLED_FROM]
)
def test_every_shown_field_is_on_its_row_or_computed(
    model: type[BaseModel], row: type, computed: set[str]
) -> None:
    on_row = {f.name for f in dataclasses.fields(row)}
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    assert required - computed <= on_row
    assert computed <= set(model.model_fields)


def test_what_a_row_holds_in_secret_is_never_a_field_shown() -> None:
    assert "password_hash" not in schemas.UserInfo.model_fields


def test_from_row_takes_fields_by_name_computed_first_and_defaults_for_the_rest() -> None:
    @dataclasses.dataclass(frozen=True)
    class Row:
        run_id: str
        state: str
        logical_date: datetime
        extra_column: int  # not shown: left out

    shown = from_row(schemas.RecentRun, Row("r1", "running", T0, 7), state="success")
    assert shown.model_dump() == {"run_id": "r1", "state": "success", "logical_date": T0}

    class WithDefault(BaseModel):
        run_id: str
        note: str | None = None

    assert from_row(WithDefault, Row("r1", "running", T0, 7)).note is None


def test_from_row_refuses_a_row_without_a_required_field() -> None:
    row: Any = object()
    with pytest.raises(ValidationError):
        from_row(schemas.RecentRun, row, run_id="r1")


def test_a_listed_task_instance_is_a_task_instance_row_with_its_run() -> None:
    assert issubclass(ListedInstance, InstanceRow)
    mine = {f.name for f in dataclasses.fields(ListedInstance)}
    base = {f.name for f in dataclasses.fields(InstanceRow)}
    assert mine - base == {"dag_id", "run_id", "run_state", "logical_date"}
