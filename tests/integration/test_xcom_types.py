"""Tasks hand each other what JSON has no type for, as on Airflow: a datetime, a Decimal, a
set or a tuple comes back as itself downstream, a mapped task expands over a tuple, a team's
dataclass comes back when allowed_deserialization_classes names it and is refused, naming
the setting, when it does not. Both stores, real scheduler loop and runners."""

from __future__ import annotations

from sqlalchemy import select

from conveyor.states import TaskState
from conveyor.store.tables import xcom
from run_env import Env
from store_reads import returned

TYPES = """
import dataclasses
import datetime as dt
import decimal

from airflow.decorators import task


@dataclasses.dataclass
class Order:
    id: int
    total: decimal.Decimal


with DAG("types", start_date=START, schedule=None):

    @task
    def produce():
        return {
            "at": dt.datetime(2024, 3, 1, 6, 30, tzinfo=dt.timezone.utc),
            "day": dt.date(2024, 3, 1),
            "wait": dt.timedelta(minutes=5),
            "amount": decimal.Decimal("12.50"),
            "tags": {"b", "a"},
            "row": (1, "x"),
        }

    @task(multiple_outputs=True)
    def split():
        return {"when": dt.date(2024, 1, 2), "count": 3}

    @task
    def pair():
        return (10, 20, 30)

    @task
    def order():
        return Order(7, decimal.Decimal("9.99"))

    @task
    def check(values, when, count):
        return {
            "types": {k: type(v).__name__ for k, v in sorted(values.items())},
            "at": values["at"].isoformat(),
            "tags": sorted(values["tags"]),
            "when": [type(when).__name__, when.isoformat()],
            "count": count,
        }

    @task
    def double(x):
        return x * 2

    @task
    def read_order(found):
        return [type(found).__name__, str(found.total)]

    produced = split()
    check(produce(), produced["when"], produced["count"])
    double.expand(x=pair())
    read_order(order())
"""


def test_typed_xcoms_come_back_as_their_type(env: Env) -> None:
    env.write_dag("typed_xcoms.py", TYPES)
    env.sync()
    run = env.trigger("types")
    env.run(run, limit=60)
    states = env.states(run)
    assert states["check"] is TaskState.SUCCESS, env.tries(run, "check")
    assert states["double"] is TaskState.SUCCESS, env.tries(run, "double")
    assert states["read_order"] is TaskState.FAILED
    error = env.tries(run, "read_order")[-1].error
    # A class of a DAG file is named by the file's module: conveyor_dags.<file>_<hash>.
    assert "conveyor_dags.typed_xcoms_" in error, error
    assert ".Order was not found in allow list" in error, error
    assert "allowed_deserialization_classes" in error
    assert returned(env.store, run, "check") == {
        "types": {
            "amount": "Decimal",
            "at": "datetime",
            "day": "date",
            "row": "tuple",
            "tags": "set",
            "wait": "timedelta",
        },
        "at": "2024-03-01T06:30:00+00:00",
        "tags": ["a", "b"],
        "when": ["date", "2024-01-02"],
        "count": 3,
    }
    with env.store.read() as conn:
        doubled = conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run, xcom.c.task_id == "double")
        ).scalars()
        assert sorted(doubled) == [20, 40, 60]


def test_a_teams_class_comes_back_when_the_setting_allows_it(env: Env) -> None:
    env.write_dag("typed_xcoms.py", TYPES)
    env.sync()
    run = env.trigger("types")
    env.run(run, limit=60, allowed_deserialization_classes="airflow.* conveyor_dags.typed_xcoms_*")
    assert env.states(run)["read_order"] is TaskState.SUCCESS, env.tries(run, "read_order")
    assert returned(env.store, run, "read_order") == ["Order", "9.99"]
