"""Deferral through the real scheduler and a real ``conveyor triggerer`` process, on both
stores: a DAG file in Airflow's spelling with a trigger of its own, the shipped
``TimeDeltaTrigger`` and a deferrable ``FileSensor`` runs to success; the deferred try's slot
is free meanwhile (another task runs in the only one); a triggerer killed mid-wait leaves its
trigger to another; a deferral past its timeout fails the try."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cli_processes import CONVEYOR, CTRL_C_LIMIT_SECONDS, CliProcess, cli_process
from conftest import describe_runs, run_scheduler
from conveyor.scheduler.explain import explain
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.reads import tasks as task_reads
from conveyor.store.tables import task_event, task_instance, task_try, trigger, triggerer
from run_env import Env
from store_reads import returned

#: A trigger of the DAG file's own, the shipped TimeDeltaTrigger, a deferrable FileSensor.
AIRFLOW_DAG = """\
import asyncio
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.models.baseoperator import BaseOperator
from airflow.sensors.filesystem import FileSensor
from airflow.triggers.base import BaseTrigger, TriggerEvent
from airflow.triggers.temporal import TimeDeltaTrigger


class FileAppears(BaseTrigger):
    def __init__(self, path, poll=0.05):
        super().__init__()
        self.path = path
        self.poll = poll

    def serialize(self):
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"path": self.path, "poll": self.poll},
        )

    async def run(self):
        while not os.path.exists(self.path):
            await asyncio.sleep(self.poll)
        with open(self.path) as f:
            yield TriggerEvent({"content": f.read()})


class WaitForGo(BaseOperator):
    def __init__(self, path, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def execute(self, context):
        with open("@TMP@/deferring", "w") as f:
            f.write(str(context["ti"].try_number))
        self.defer(trigger=FileAppears(self.path), method_name="go", kwargs={"extra": 7})

    def go(self, context, event, extra):
        with open("@TMP@/resumed", "w") as f:
            f.write(str(context["ti"].try_number))
        with open("@TMP@/resumed_start", "w") as f:
            f.write(context["ti"].start_date.isoformat())
        return f"{event['content']}-{extra}"


class Nap(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0.3)), method_name="woke")

    def woke(self, context, event=None):
        return "woke at " + event.isoformat()[:4]


with DAG("deferring", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    wait = WaitForGo(task_id="wait", path="@TMP@/go", priority_weight=100)
    nap = Nap(task_id="nap", priority_weight=50)
    sensor = FileSensor(
        task_id="sensor", filepath="@TMP@/go", poke_interval=0.1, deferrable=True,
        priority_weight=10,
    )

    @task
    def writer():
        # Runs in the only slot while ``wait`` is deferred: that try gave its slot back.
        import time
        deadline = time.monotonic() + 60
        while not os.path.exists("@TMP@/deferring"):
            assert time.monotonic() < deadline, "wait never deferred"
            time.sleep(0.05)
        with open("@TMP@/go", "w") as f:
            f.write("hello")

    writer()
"""

#: A trigger that fires once a file appears, for the takeover and timeout tests.
WAITING_DAG = """\
import asyncio
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models.baseoperator import BaseOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent


class Appears(BaseTrigger):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def serialize(self):
        return (f"{type(self).__module__}.Appears", {"path": self.path})

    async def run(self):
        while not os.path.exists(self.path):
            await asyncio.sleep(0.05)
        yield TriggerEvent(os.getpid())


class Waits(BaseOperator):
    def __init__(self, limit=None, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def execute(self, context):
        self.defer(
            trigger=Appears("@TMP@/go"), method_name="done",
            timeout=timedelta(seconds=self.limit) if self.limit else None,
        )

    def done(self, context, event):
        return event


with DAG("waiting", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    Waits(task_id="waits", limit=@LIMIT@)
"""


def process_env(env: Env) -> dict[str, str]:
    return {
        **os.environ,
        "CONVEYOR_HOME": str(env.tmp / "home"),
        "CONVEYOR_DAGS_FOLDER": str(env.dags),
        "CONVEYOR_DATABASE_URL": env.store.url,
        "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
    }


@pytest.fixture
def start_triggerer(env: Env) -> Iterator[Callable[[], CliProcess]]:
    with_processes = []

    def start() -> CliProcess:
        context = cli_process(["triggerer"], process_env(env))
        process = context.__enter__()
        with_processes.append(context)
        process.wait_for_line("triggerer:", timeout=60)
        return process

    yield start
    for context in with_processes:
        context.__exit__(None, None, None)


def wait_for(condition: Callable[[], bool], what: str, store: Store, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {limit:g}s:\n{describe_runs(store)}")
        time.sleep(0.05)


def waiting_run(env: Env, limit: str) -> int:
    """A run of ``WAITING_DAG``, whose deferral times out after ``limit`` seconds ("None":
    never)."""
    source = WAITING_DAG.replace("@TMP@", str(env.tmp)).replace("@LIMIT@", limit)
    env.write_dag("waiting.py", source, header=False)
    env.sync()
    return env.trigger("waiting")


def exit_kinds(store: Store, run_pk: int, task_id: str) -> list[str | None]:
    with store.read() as conn:
        return list(
            conn.execute(
                select(task_try.c.exit_kind)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id)
                .order_by(task_try.c.try_number)
            ).scalars()
        )


def test_an_airflow_dag_defers_and_resumes_through_the_triggerer(
    env: Env, start_triggerer: Callable[[], CliProcess]
) -> None:
    env.write_dag("deferring.py", AIRFLOW_DAG.replace("@TMP@", str(env.tmp)), header=False)
    env.sync()
    run_pk = env.trigger("deferring")
    start_triggerer()
    env.run(run_pk, limit=60, parallelism=1)
    assert env.run_state(run_pk) is RunState.SUCCESS, describe_runs(env.store)
    assert returned(env.store, run_pk, "wait") == "hello-7"  # the event and the kwargs
    assert str(returned(env.store, run_pk, "nap")).startswith("woke at 20")
    assert returned(env.store, run_pk, "sensor") == [str(env.tmp / "go")]
    # Each deferring task's first dispatch ended deferred, and a later one resumed it: in
    # the same try, as Airflow numbers it.
    assert exit_kinds(env.store, run_pk, "wait") == ["deferred", "return"]
    assert exit_kinds(env.store, run_pk, "nap") == ["deferred", "return"]
    assert (env.tmp / "deferring").read_text() == (env.tmp / "resumed").read_text() == "1"
    with env.store.read() as conn:
        for task_id in ("wait", "nap"):
            row = task_reads.instance(conn, run_pk, task_id)
            assert row is not None and (row.try_number, row.max_tries) == (1, 1)
            [one] = task_reads.tries(conn, [row.id])
            assert (one.try_number, one.state, one.exit_kind) == (1, "success", "return")
    with env.store.read() as conn:
        left = conn.execute(select(trigger.c.id)).all()
        writer_started = conn.execute(
            select(task_instance.c.start_date).where(
                task_instance.c.run_pk == run_pk, task_instance.c.task_id == "writer"
            )
        ).scalar_one()
        wait_resumed = conn.execute(
            select(task_try.c.start_date)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.task_id == "wait", task_try.c.try_number == 2)  # dispatch
        ).scalar_one()
    assert left == []  # every trigger went with its event
    # The writer ran (in the only slot) while ``wait`` was deferred, before it resumed.
    assert writer_started < wait_resumed
    # As Airflow keeps a resumed task instance's start_date, its start is its first
    # dispatch's, and its duration covers the wait for the trigger.
    with env.store.read() as conn:
        wait = task_reads.instance(conn, run_pk, "wait")
        first_dispatch = conn.execute(
            select(task_try.c.start_date)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.task_id == "wait", task_try.c.try_number == 1)
        ).scalar_one()
    assert wait is not None and wait.start_date == first_dispatch
    assert (env.tmp / "resumed_start").read_text() == first_dispatch.isoformat()  # its ti's too
    assert wait.end_date is not None and wait.end_date > wait_resumed


def test_a_killed_triggerers_trigger_is_taken_over(
    env: Env, start_triggerer: Callable[[], CliProcess]
) -> None:
    run_pk = waiting_run(env, "None")
    first = start_triggerer()

    def held_by(pid: int) -> bool:
        with env.store.read() as conn:
            return (
                conn.execute(
                    select(trigger.c.id)
                    .join(triggerer, triggerer.c.id == trigger.c.triggerer_id)
                    .where(triggerer.c.pid == pid)
                ).first()
                is not None
            )

    settings = env.settings(parallelism=1)
    run_scheduler(settings, env.store, lambda: held_by(first.pid), limit=60, what="a claim")
    os.killpg(first.pid, signal.SIGKILL)  # mid-wait: nothing recorded, the trigger held
    first.popen.wait(timeout=30)
    second = start_triggerer()
    wait_for(lambda: held_by(second.pid), "the second triggerer's takeover", env.store)
    (env.tmp / "go").write_text("")
    env.run(run_pk, limit=60)
    assert env.run_state(run_pk) is RunState.SUCCESS, describe_runs(env.store)
    assert returned(env.store, run_pk, "waits") == second.pid  # the event came from the second
    with env.store.read() as conn:
        actors = set(
            conn.execute(
                select(task_event.c.actor).where(task_event.c.message.like("%fired%"))
            ).scalars()
        )
    assert actors == {f"triggerer@{os.uname().nodename}:{second.pid}"}


def test_a_deferral_past_its_timeout_fails_the_try(env: Env) -> None:
    run_pk = waiting_run(env, "0.5")
    env.run(run_pk, limit=60)  # no triggerer at all: nothing fires
    assert env.run_state(run_pk) is RunState.FAILED
    assert env.states(run_pk) == {"waits": TaskState.FAILED}
    tries = env.tries(run_pk, "waits")
    assert [t.exit_kind for t in tries] == ["timeout"]
    assert "TaskDeferralTimeout" in (tries[-1].error or "")
    with env.store.read() as conn:
        assert conn.execute(select(trigger.c.id)).all() == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the store plays no part
def test_ctrl_c_stops_a_triggerer_running_a_trigger(
    env: Env, start_triggerer: Callable[[], CliProcess]
) -> None:
    run_pk = waiting_run(env, "None")
    process = start_triggerer()

    def running() -> bool:
        with env.store.read() as conn:
            return bool(
                conn.execute(select(triggerer.c.running).where(triggerer.c.pid == process.pid))
                .scalars()
                .first()
            )

    run_scheduler(env.settings(), env.store, running, limit=60, what="the trigger running")
    assert why(env.store, run_pk, "waits") == [
        "waiting for trigger Appears(path={!r}) (#1), run by triggerer {}".format(
            str(env.tmp / "go"), running_triggerer(env.store)
        )
    ]
    took = process.seconds_to_end(process.ctrl_c(), limit=30)
    assert took < CTRL_C_LIMIT_SECONDS, process.output()
    assert process.returncode == 0, process.output()
    with env.store.read() as conn:  # its stop released the trigger for the others at once
        assert conn.execute(select(trigger.c.triggerer_id)).scalars().all() == [None]
    assert env.states(run_pk) == {"waits": TaskState.DEFERRED}
    [reason] = why(env.store, run_pk, "waits")
    assert reason.endswith("no live triggerer runs it yet (start one with `conveyor triggerer`)")


def why(store: Store, run_pk: int, task_id: str) -> list[str]:
    """What ``conveyor tasks why`` and the API say the task waits for."""
    with store.read() as conn:
        return explain(conn, runs.get_run(conn, run_pk), task_id).waiting_for


def running_triggerer(store: Store) -> str:
    with store.read() as conn:
        return str(conn.execute(select(triggerer.c.id)).scalar_one())


def test_conveyor_run_runs_a_deferring_dag_with_its_own_triggerer(tmp_path: Path) -> None:
    dag_file = tmp_path / "deferring.py"
    dag_file.write_text(AIRFLOW_DAG.replace("@TMP@", str(tmp_path)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [CONVEYOR, "run", str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run success" in done.stdout
    assert (tmp_path / "go").read_text() == "hello"
