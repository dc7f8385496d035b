"""BashSensor, PythonSensor, TimeDeltaSensor, DayOfWeekSensor and ``deferrable=True``
through the real scheduler on both backends: what each waits for, and that a deferrable
sensor frees its slot between pokes (its earlier tries end up_for_reschedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from conveyor import DAG, BashSensor, DayOfWeekSensor
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.states import RunState, TaskState
from conveyor.store.tables import xcom
from run_env import Env

S, SK = TaskState.SUCCESS, TaskState.SKIPPED


def test_sensors_wait_for_their_conditions(env: Env) -> None:
    today = datetime.now(UTC).strftime("%A")
    other = (datetime.now(UTC) + timedelta(days=3)).strftime("%A")
    env.write_dag(
        "sensors.py",
        f"""
        from conveyor import (
            BashSensor, DayOfWeekSensor, PokeReturnValue, PythonSensor, TimeDeltaSensor,
        )

        with DAG("sensors", start_date=START):
            @task
            def make_flag():
                time.sleep(0.6)
                Path("@TMP@/flag").write_text("3")

            make_flag()
            BashSensor(
                task_id="bash_waits", bash_command="test -f @TMP@/flag",
                poke_interval=0.1, timeout=20,
            )

            def count(path):
                n = int(Path(path).read_text()) if Path(path).exists() else 0
                Path(path).write_text(str(n + 1))
                return PokeReturnValue(n >= 2, xcom_value={{"pokes": n + 1}})

            PythonSensor(
                task_id="python_waits", python_callable=count, op_args=["@TMP@/count"],
                poke_interval=0.1, timeout=20, deferrable=True,
            )
            TimeDeltaSensor(
                task_id="delta_waits", delta=timedelta(seconds=1),
                poke_interval=0.1, timeout=20,
            )
            DayOfWeekSensor(task_id="today", week_day={today!r}, poke_interval=0.1, timeout=5)
            DayOfWeekSensor(
                task_id="not_today", week_day={{"{other}"}}, poke_interval=0.1, timeout=0.3,
                soft_fail=True,
            )
            BashSensor(
                task_id="bash_fails", bash_command="exit 4", retry_exit_code=1,
                poke_interval=0.1, timeout=5, retries=2,
            )

            @task.sensor(poke_interval=0.1, timeout=20, mode="reschedule")
            def decorated():
                return PokeReturnValue(Path("@TMP@/flag").exists(), xcom_value="flag seen")

            decorated()
        """,
    )
    env.sync()
    started = datetime.now(UTC)
    run_pk = env.trigger("sensors")
    env.run(run_pk)
    states = env.states(run_pk)
    assert states == {
        "make_flag": S,
        "bash_waits": S,
        "python_waits": S,
        "delta_waits": S,
        "today": S,
        "not_today": SK,
        "bash_fails": TaskState.FAILED,  # not the retry code: a real failure, not "not yet"
        "decorated": S,
    }
    assert env.run_state(run_pk) is RunState.FAILED
    [bash] = env.tries(run_pk, "bash_waits")
    # It waited for the flag: it ended after the file was written (not after make_flag's end
    # was recorded, which on a loaded machine can come after the sensor saw the file).
    flag_written = datetime.fromtimestamp((env.tmp / "flag").stat().st_mtime, UTC)
    assert bash.end_date >= flag_written
    python = env.tries(run_pk, "python_waits")
    assert [t.state for t in python] == ["up_for_reschedule", "up_for_reschedule", "success"]
    with env.store.read() as conn:
        value = conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == "python_waits")
        ).scalar_one()
    assert value == {"pokes": 3}
    with env.store.read() as conn:
        seen = conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == "decorated")
        ).scalar_one()
    assert seen == "flag seen"
    [failed] = env.tries(run_pk, "bash_fails")  # one try: Fail does not retry
    assert "exited with status 4, not 1" in failed.error
    [delta] = env.tries(run_pk, "delta_waits")
    assert delta.end_date - started >= timedelta(seconds=1)


def test_day_of_week_with_the_logical_date(env: Env) -> None:
    env.write_dag(
        "weekday.py",
        """
        from conveyor import DayOfWeekSensor

        with DAG("weekday", start_date=START):
            DayOfWeekSensor(
                task_id="on_the_day", week_day=["Saturday", "Sunday"],
                use_task_logical_date=True, poke_interval=0.1, timeout=0.3, soft_fail=True,
            )
        """,
    )
    env.sync()
    saturday = env.trigger("weekday", at=datetime(2026, 1, 3, tzinfo=UTC))
    monday = env.trigger("weekday", at=datetime(2026, 1, 5, tzinfo=UTC))
    env.run(saturday, monday)
    assert env.states(saturday) == {"on_the_day": S}
    assert env.states(monday) == {"on_the_day": SK}


def test_deferrable_serializes_as_reschedule_and_bad_days_are_refused() -> None:
    with DAG("d") as d:
        BashSensor(task_id="b", bash_command="true", deferrable=True)
    [serialized] = serialize_dag(d)["tasks"]
    assert serialized["mode"] == "reschedule"
    with DAG("e"), pytest.raises(DagDefinitionError, match="unknown week day 'Funday'"):
        DayOfWeekSensor(task_id="x", week_day="Funday")
