"""Pure parts of the toolkit: run timeouts and SLA decisions, backfill dates, notifier text,
sensor and callback arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conveyor import DAG, BashOperator
from conveyor.backfill import ticks
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.notifiers import DEFAULT_MESSAGE, render_message
from conveyor.scheduler.timeouts import run_timeout, sla_misses, timed_out
from conveyor.sensors import FileSensor
from conveyor.serialized import SerializedDag
from conveyor.states import TaskState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _structure(**dag_args: object) -> SerializedDag:
    with DAG("d", start_date=datetime(2026, 1, 1), **dag_args) as dag:  # type: ignore[arg-type]
        BashOperator(task_id="fast", bash_command="true", sla=timedelta(minutes=5))
        BashOperator(task_id="free", bash_command="true")
    return SerializedDag.from_dict(serialize_dag(dag))


def test_run_timeout_is_serialized_and_decided_against_the_run_start() -> None:
    structure = _structure(dagrun_timeout=timedelta(minutes=10))
    limit = run_timeout(structure)
    assert limit == timedelta(minutes=10)
    assert not timed_out(T0, limit, T0 + timedelta(minutes=10))
    assert timed_out(T0, limit, T0 + timedelta(minutes=10, seconds=1))
    assert not timed_out(None, limit, T0 + timedelta(days=1))  # not started yet
    assert run_timeout(_structure()) is None


@pytest.mark.parametrize(
    ("state", "after", "missed"),
    [
        (TaskState.RUNNING, 6, ["fast"]),
        (TaskState.NONE, 6, ["fast"]),
        (TaskState.SUCCESS, 6, []),
        (TaskState.SKIPPED, 6, []),
        (TaskState.RUNNING, 4, []),
    ],
)
def test_sla_misses_only_tasks_with_an_sla_not_done_in_time(
    state: TaskState, after: int, missed: list[str]
) -> None:
    structure = _structure()
    now = T0 + timedelta(minutes=after)
    found = sla_misses(structure, T0, {"fast": state, "free": TaskState.RUNNING}, now)
    assert [task_id for task_id, _ in found] == missed


def test_versions_of_dags_without_toolkit_arguments_do_not_change() -> None:
    data = serialize_dag(_structure_dag_without_extras())
    assert "callbacks" not in data and "dagrun_timeout" not in data
    assert all("sla" not in t and "mode" not in t for t in data["tasks"])


def _structure_dag_without_extras() -> DAG:
    with DAG("plain", start_date=datetime(2026, 1, 1)) as dag:
        BashOperator(task_id="t", bash_command="true")
    return dag


@pytest.mark.parametrize(
    ("schedule", "start", "end", "expected"),
    [
        ("@daily", T0, T0 + timedelta(days=2), 3),
        ("@daily", T0 + timedelta(hours=1), T0 + timedelta(days=2), 2),  # ticks at midnight
        ("0 */6 * * *", T0, T0 + timedelta(days=1), 5),
        (timedelta(hours=12), T0, T0 + timedelta(days=1), 3),
    ],
)
def test_backfill_ticks_cover_logical_dates_in_the_range(
    schedule: object, start: datetime, end: datetime, expected: int
) -> None:
    with DAG("b", schedule=schedule, start_date=datetime(2025, 1, 1)) as dag:  # type: ignore[arg-type]
        BashOperator(task_id="t", bash_command="true")
    found = ticks(SerializedDag.from_dict(serialize_dag(dag)), start, end)
    assert len(found) == expected
    assert all(start <= info.logical_date <= end for info in found)
    assert [i.logical_date for i in found] == sorted(i.logical_date for i in found)


class _Ti:
    try_number = 2


def test_default_notifier_messages_say_what_ended_and_why() -> None:
    with DAG("etl", start_date=datetime(2026, 1, 1)) as dag:
        task = BashOperator(task_id="load", bash_command="true")
    failed = render_message(
        DEFAULT_MESSAGE,
        {
            "dag": dag,
            "task": task,
            "ti": _Ti(),
            "run_id": "r1",
            "state": "failed",
            "exception": "Traceback...\nValueError: bad row",
        },
    )
    assert failed == "Conveyor: task etl.load failed (run r1, try 2): ValueError: bad row"
    run = render_message(
        DEFAULT_MESSAGE, {"dag": dag, "run_id": "r1", "state": "failed", "reason": "timed out"}
    )
    assert run == "Conveyor: DAG etl run r1 failed: timed out"


def test_sensor_and_callback_arguments_are_checked() -> None:
    with DAG("s", start_date=datetime(2026, 1, 1)):
        with pytest.raises(DagDefinitionError, match="mode must be one of poke, reschedule"):
            FileSensor(task_id="f", filepath="/x", mode="sometimes")
        with pytest.raises(DagDefinitionError, match="task 'g': sla must be a timedelta"):
            BashOperator(task_id="g", bash_command="true", sla="soon")  # type: ignore[arg-type]
        sensor = FileSensor(task_id="h", filepath="/x", mode="reschedule", poke_interval=5)
    assert sensor.poke_interval == timedelta(seconds=5)
    with pytest.raises(DagDefinitionError, match="dagrun_timeout must be a timedelta"):
        DAG("t", dagrun_timeout="1h")  # type: ignore[arg-type]
