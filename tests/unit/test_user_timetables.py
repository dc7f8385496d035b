"""A user's own timetable class: run where the DAG file is, made again where it is not.

The class lives in a module beside the DAG file, as in an Airflow DAG folder. After the DAG
is serialized the module is forgotten, so the stored DAG's schedule must import it again
by its module name and folder, as the scheduler does.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor.exceptions import DagDefinitionError, DagImportError
from conveyor.loading.importer import import_dag_file
from conveyor.loading.serialize import serialize_dag
from conveyor.model.schedules import DataInterval, deserialize_schedule
from conveyor.model.timetable_protocol import UserTimetable
from conveyor.scheduler.due import due_runs
from conveyor.serialized import SerializedDag

# Like Airflow's after-workday example with catchup off: the day that the clock says is
# today, unless the last run covered it already.
MODULE = """
from datetime import datetime, time, timedelta, timezone

from airflow.timetables.base import DagRunInfo, DataInterval, Timetable
from airflow.utils.timezone import utcnow


class TodayTimetable(Timetable):
    description = "today, once it is over"

    def __init__(self, days=1):
        self.days = days

    @property
    def summary(self):
        return f"every {self.days} day(s)"

    def serialize(self):
        return {"days": self.days}

    @classmethod
    def deserialize(cls, data):
        return cls(days=data["days"])

    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(run_after - timedelta(days=self.days), run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        today = datetime.combine(utcnow().date(), time(), tzinfo=timezone.utc)
        start = today
        if last_automated_data_interval is not None:
            start = max(start, last_automated_data_interval.end)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=start + timedelta(days=self.days))
"""

DAG_FILE = """
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

from {module} import TodayTimetable

with DAG("today", timetable=TodayTimetable(days=1), start_date=datetime(2024, 1, 1),
         catchup=False):
    EmptyOperator(task_id="work")
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def stored(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SerializedDag]:
    """The DAG as the scheduler reads it, its timetable's module no longer imported."""
    module = f"today_timetable_{request.node.name.split('[')[0][-20:].replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(MODULE))
    dag_file = tmp_path / "today_dag.py"
    dag_file.write_text(textwrap.dedent(DAG_FILE.format(module=module)))
    (dag,) = import_dag_file(str(dag_file))
    data = json.loads(json.dumps(serialize_dag(dag)))
    sys.modules.pop(module, None)
    sys.path.remove(str(tmp_path))  # the DAG folder as a scheduler starts without it
    try:
        yield SerializedDag.from_dict(data)
    finally:
        sys.modules.pop(module, None)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


def test_the_stored_dag_imports_the_class_again_and_keeps_its_summary(
    stored: SerializedDag,
) -> None:
    schedule = stored.schedule
    assert isinstance(schedule, UserTimetable)
    assert stored.raw["schedule_description"] == "every 1 day(s)"
    assert stored.raw["schedule_details"] == "today, once it is over"
    assert schedule.timetable.days == 1  # deserialize() got what serialize() gave
    assert schedule.manual_interval(utc(2024, 3, 1, 12)) == DataInterval(
        utc(2024, 2, 29, 12), utc(2024, 3, 1, 12)
    )


def test_the_run_it_decided_before_midnight_is_made_after_midnight(stored: SerializedDag) -> None:
    # At 10:00 on March 1 the timetable promised March 1's run, due at midnight; the loop
    # comes round 5 s after midnight, when "today" is already March 2.
    due, following = due_runs(
        stored, None, utc(2024, 3, 2, 0, 0, 5), limit=16, pending=utc(2024, 3, 2)
    )
    assert [(i.data_interval.start, i.data_interval.end) for i in due] == [
        (utc(2024, 3, 1), utc(2024, 3, 2))
    ]
    assert following == utc(2024, 3, 3)
    # Asked as of the loop's own time, March 1 would be lost.
    due, _ = due_runs(stored, None, utc(2024, 3, 2, 0, 0, 5), limit=16)
    assert due == []


def test_a_class_defined_in_the_dag_file_is_refused_with_where_to_put_it(tmp_path: Path) -> None:
    dag_file = tmp_path / "inline_dag.py"
    dag_file.write_text(
        textwrap.dedent(MODULE)
        + "\nfrom airflow import DAG\n"
        + "with DAG('inline', schedule=TodayTimetable(), start_date=datetime(2024, 1, 1)):\n"
        + "    pass\n"
    )
    with pytest.raises(DagImportError, match=r"move the class to a module beside the DAG file"):
        import_dag_file(str(dag_file))


def test_a_class_the_scheduler_cannot_import_is_an_error_naming_it() -> None:
    schedule = deserialize_schedule(
        {"type": "timetable", "class": "no_such_module_here:Gone", "search_path": None}
    )
    assert schedule.description == "Gone"
    with pytest.raises(DagDefinitionError, match=r"cannot import timetable class no_such_mod"):
        schedule.next_run(
            last=None, start_date=None, end_date=None, catchup=True, now=utc(2024, 1, 1)
        )


# Written as Airflow's docs write a timetable: pendulum's DateTime, Airflow's clock.
PENDULUM_MODULE = """
import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable
from airflow.utils.timezone import utcnow


class PendulumToday(Timetable):
    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(run_after.subtract(days=1), run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        today = pendulum.instance(utcnow()).start_of("day")
        if last_automated_data_interval is not None:
            start = max(today, last_automated_data_interval.end)
        else:
            start = max(today, restriction.earliest.start_of("day"))
        return DagRunInfo.interval(start=start, end=start.add(days=1))
"""


def test_a_timetable_on_pendulum_gets_pendulum_times_and_airflows_clock_frozen(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pendulum")
    (tmp_path / "pendulum_today.py").write_text(textwrap.dedent(PENDULUM_MODULE))
    dag_file = tmp_path / "pendulum_dag.py"
    dag_file.write_text(
        "from datetime import datetime\nfrom airflow import DAG\n"
        "from pendulum_today import PendulumToday\n"
        "with DAG('pt', schedule=PendulumToday(), start_date=datetime(2024, 1, 1)):\n"
        "    pass\n"
    )
    try:
        (dag,) = import_dag_file(str(dag_file))
        stored = SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(dag))))
        due, following = due_runs(
            stored, None, utc(2024, 3, 2, 0, 0, 5), limit=16, pending=utc(2024, 3, 2)
        )
        assert [(i.data_interval.start, i.data_interval.end) for i in due] == [
            (utc(2024, 3, 1), utc(2024, 3, 2))
        ]
        assert type(due[0].data_interval.start) is datetime  # no pendulum in the store
        assert following == utc(2024, 3, 3)
        assert stored.schedule.manual_interval(utc(2024, 3, 5)) == DataInterval(
            utc(2024, 3, 4), utc(2024, 3, 5)
        )
    finally:
        sys.modules.pop("pendulum_today", None)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


BY_HAND_MODULE = """
from airflow.timetables.base import Timetable


class ByHand(Timetable):
    can_be_scheduled = {can_be_scheduled}

    def infer_manual_data_interval(self, *, run_after):
        return None

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        return None
"""

BY_HAND_DAG = """
from airflow import DAG
from airflow.models.param import Param
from airflow.operators.empty import EmptyOperator

from {module} import ByHand

with DAG("by_hand", timetable=ByHand(), params={{"since": Param(None, type="string"),
                                               "until": Param(type="string")}}):
    EmptyOperator(task_id="work")
"""


@pytest.mark.parametrize("can_be_scheduled", [False, True])
def test_params_a_trigger_must_give_are_checked_only_where_runs_come_by_themselves(
    tmp_path: Path, can_be_scheduled: bool
) -> None:
    """Airflow checks a DAG's param defaults at parse only when its timetable can be
    scheduled: one that says it cannot may hold defaults its trigger must replace."""
    module = f"by_hand_timetable_{str(can_be_scheduled).lower()}"
    (tmp_path / f"{module}.py").write_text(BY_HAND_MODULE.format(can_be_scheduled=can_be_scheduled))
    dag_file = tmp_path / "by_hand.py"
    dag_file.write_text(BY_HAND_DAG.format(module=module))
    try:
        if can_be_scheduled:
            with pytest.raises(DagImportError, match="does not match its schema"):
                import_dag_file(str(dag_file))
            return
        (dag,) = import_dag_file(str(dag_file))
        assert dag.param_specs["until"]["required"]
        assert dag.params["since"] is None
    finally:
        sys.modules.pop(module, None)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
