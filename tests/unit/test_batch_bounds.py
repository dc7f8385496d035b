"""The date and duration bounds the run and task instance batch bodies share: their place
among each body's fields (Airflow's order, which the OpenAPI document keeps), and what a
route reads from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.exceptions import RequestValidationError

from conveyor.web.airflow_api.batch_bounds import BatchBounds
from conveyor.web.airflow_api.run_shapes import DAGRunsBatchBody
from conveyor.web.airflow_api.ti_shapes import TaskInstancesBatchBody

BOUNDS = list(BatchBounds.model_fields)


def test_the_bounds_stand_between_each_body_s_own_fields_in_airflow_s_order() -> None:
    assert list(DAGRunsBatchBody.model_fields) == [
        "order_by",
        "page_offset",
        "page_limit",
        "dag_ids",
        "states",
        *BOUNDS,
        "conf_contains",
    ]
    assert list(TaskInstancesBatchBody.model_fields) == [
        "dag_ids",
        "dag_run_ids",
        "task_ids",
        "state",
        *BOUNDS,
        "pool",
        "queue",
        "executor",
        "page_offset",
        "page_limit",
        "order_by",
    ]
    assert BOUNDS[0] == "run_after_gte" and BOUNDS[-1] == "duration_lt"
    assert len(BOUNDS) == 20


def test_the_bodies_still_refuse_fields_they_do_not_know() -> None:
    with pytest.raises(ValueError, match="extra"):
        DAGRunsBatchBody.model_validate({"nope": 1})
    with pytest.raises(ValueError, match="extra"):
        TaskInstancesBatchBody.model_validate({"nope": 1})


def test_date_bounds_are_the_given_dates_in_utc_and_durations_the_given_seconds() -> None:
    paris = timezone(timedelta(hours=2))
    body = DAGRunsBatchBody(
        start_date_gte=datetime(2026, 5, 1, 12, tzinfo=paris),
        end_date_lt=datetime(2026, 5, 2, tzinfo=UTC),
        duration_gt=1.5,
        conf_contains="x",
    )
    assert body.date_bounds() == {
        "start_date_gte": datetime(2026, 5, 1, 10, tzinfo=UTC),
        "end_date_lt": datetime(2026, 5, 2, tzinfo=UTC),
    }
    assert body.date_bounds()["start_date_gte"].utcoffset() == timedelta(0)
    assert body.duration_bounds() == {"duration_gt": 1.5}
    assert TaskInstancesBatchBody().date_bounds() == {}
    assert TaskInstancesBatchBody().duration_bounds() == {}


def test_a_date_bound_without_a_time_zone_is_a_422_naming_it_in_the_body() -> None:
    body = TaskInstancesBatchBody(logical_date_lte=datetime(2026, 5, 1))
    with pytest.raises(RequestValidationError) as refused:
        body.date_bounds()
    assert refused.value.errors()[0]["loc"] == ("body", "logical_date_lte")
