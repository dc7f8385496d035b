"""One row type, several answers: an answer declares how it shows a read row (``FromRow``)
and takes the row's fields, types, defaults and descriptions from it; ``fill`` follows the
renamings it declares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from conveyor.store.reads._rows import description
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.task_lists import ListedInstance
from conveyor.store.reads.tasks import InstanceRow
from conveyor.web import schemas
from conveyor.web.airflow_api.common import UtcTime
from conveyor.web.airflow_api.run_shapes import DAGRunResponse
from conveyor.web.airflow_api.ti_shapes import TaskInstanceHistoryResponse, TaskInstanceResponse
from conveyor.web.row_shapes import FromRow, RowAnswer, fill

T0 = datetime(2026, 1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    note: str | None = field(metadata=description("what a person wrote"))
    made_at: datetime = field(metadata=description("when it was made"))
    size: int = 3


class Plain(RowAnswer):
    __row__ = FromRow(Row, hidden=("id",), defaults={"note": None})


class Renamed(RowAnswer):
    __row__ = FromRow(
        Row,
        shown=("key", "label", "made_at", "length", "comment", "tags"),
        renamed={"key": "id", "label": "name", "comment": "note"},
        nullable=("made_at",),
        time=UtcTime,
        described=False,
    )
    key: str  # the row's int, shown as text
    length: int
    tags: list[str] = Field(default_factory=list)


class Like(RowAnswer):
    __row__ = FromRow(
        Row, shown=("label", "length", "tags"), renamed={"label": "name"}, like=Renamed
    )


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()["properties"]  # type: ignore[no-any-return]


def test_an_answer_shows_the_row_s_fields_in_order_with_their_types_and_descriptions() -> None:
    assert list(Plain.model_fields) == ["name", "note", "made_at", "size"]
    fields = Plain.model_fields
    assert fields["name"].annotation is str and fields["name"].is_required()
    assert fields["note"].default is None  # given a default by the answer
    assert fields["note"].description == "what a person wrote"
    assert fields["made_at"].is_required()
    assert fields["made_at"].description == "when it was made"
    assert fields["size"].default == 3  # the row's own default


def test_an_answer_renames_widens_and_computes_in_the_order_it_names() -> None:
    assert list(Renamed.model_fields) == ["key", "label", "made_at", "length", "comment", "tags"]
    schema = _schema(Renamed)
    assert schema["key"]["type"] == "string"  # the body's annotation wins over the row's
    assert {"type": "null"} in schema["made_at"]["anyOf"]  # nullable though the row is not
    assert all("description" not in s for s in schema.values())  # described=False
    shown = fill(Renamed, Row(7, "n", "hello", T0), key="7", length=2)
    assert shown.model_dump() == {
        "key": "7",
        "label": "n",
        "made_at": T0.replace(tzinfo=UTC),  # its time type: in UTC
        "length": 2,
        "comment": "hello",
        "tags": [],
    }


def test_an_answer_like_another_takes_its_fields_as_they_are_there() -> None:
    assert list(Like.model_fields) == ["label", "length", "tags"]
    assert _schema(Like)["label"] == _schema(Renamed)["label"]
    assert Like.model_fields["length"].annotation is int
    one = fill(Like, Row(1, "x", None, T0), length=4)
    assert one.model_dump() == {"label": "x", "length": 4, "tags": []}
    one.tags.append("a")
    assert fill(Like, Row(1, "x", None, T0), length=4).tags == []  # its factory, not a shared list


def test_a_field_neither_on_the_row_nor_declared_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="Row has no field 'nickname' to show as 'nickname'"):

        class _Wrong(RowAnswer):
            __row__ = FromRow(Row, shown=("name", "nickname"))


def test_fill_leaves_a_required_field_the_row_lacks_a_validation_error() -> None:
    @dataclass(frozen=True)
    class Short:
        id: int

    with pytest.raises(ValidationError):
        fill(Plain, Short(1))


#: (answer, its row): every field an answer takes from its row under the row's name or a
#: declared renaming is one the row holds; the rest are computed by the caller.
SHOWN_FROM = [
    (schemas.Run, RunListing),
    (schemas.TaskInstance, InstanceRow),
    (schemas.ListedTaskInstance, ListedInstance),
    (DAGRunResponse, RunListing),
    (TaskInstanceResponse, InstanceRow),
    (TaskInstanceHistoryResponse, InstanceRow),
]


@pytest.mark.parametrize(("answer", "row"), SHOWN_FROM, ids=[a.__name__ for a, _ in SHOWN_FROM])
def test_the_api_s_runs_and_task_instances_are_renamings_of_their_read_rows(
    answer: type[RowAnswer], row: type
) -> None:
    spec = answer.__row__
    assert isinstance(spec, FromRow)
    on_row = {f.name for f in dataclasses.fields(row)}
    assert set(spec.renamed.values()) <= on_row
    names = spec.names()
    assert [name for name in answer.model_fields if name in names] == list(names)


def test_airflow_s_names_of_a_task_instance_come_from_conveyor_s_row() -> None:
    made = T0 - timedelta(minutes=1)
    row = InstanceRow(
        id=1,
        run_pk=2,
        task_id="load",
        map_index=-1,
        state="success",
        try_number=1,
        max_tries=2,
        queue="default",
        hostname="h",
        pid=9,
        scheduled_at=made,
        queued_at=made.replace(tzinfo=timezone(timedelta(hours=2))),
        start_date=T0,
        end_date=T0,
        retry_at=None,
        user_note="looked at",
        rendered_map_index=None,
        updated_at=T0,
    )
    shown = fill(
        TaskInstanceHistoryResponse,
        row,
        dag_id="d",
        dag_run_id="r",
        duration=0.0,
        state="success",
        task_display_name="load",
        dag_display_name="d",
        pool="default_pool",
        pool_slots=1,
        priority_weight=1,
        operator=None,
        operator_name=None,
    )
    assert shown.queued_when == made.replace(tzinfo=UTC) - timedelta(hours=2)
    assert shown.scheduled_when == made.replace(tzinfo=UTC)
    assert shown.executor_config == "{}"  # TaskInstanceResponse's default, shared
    assert "note" not in TaskInstanceHistoryResponse.model_fields
