"""Pools and task groups through the real scheduler and local executor.

Pools are judged from what ran: each try's recorded start and end (``task_try``), weighted
by the slots it takes, never overlap beyond the pool's slots. Two ``conveyor scheduler``
processes on one PostgreSQL store are held to the same limit, with a sampler reading the
slots in use (queued + running) throughout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import make_settings, run_scheduler, runs_finished, token_clients
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.explain import explain
from conveyor.states import IN_FLIGHT, RunState, TaskState
from conveyor.store import pools, runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, scheduler, task_instance, task_try

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

HEADER = """\
import time
from datetime import datetime

from conveyor import DAG, EmptyOperator, TaskGroup, task, task_group
"""


def write_dag(dags: Path, name: str, body: str) -> None:
    (dags / name).write_text(HEADER + textwrap.dedent(body).lstrip("\n"))


def sync(store: Store, dags: Path) -> None:
    DagFileProcessor(store, dags, timeout=20, scan_every=1).sync()


def trigger(store: Store, dag_id: str) -> int:
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    return run_pk


def napping_dag(dag_id: str, count: int, options: str = "") -> str:
    """A DAG of ``count`` tasks that nap 0.4 s each after a ``start`` task, ``options`` added
    to their ``@task`` (a pool)."""
    return f"""
        with DAG("{dag_id}", max_active_tasks=16):
            start = EmptyOperator(task_id="start")
            for i in range({count}):
                @task(task_id=f"nap_{{i}}"{options})
                def nap():
                    time.sleep(0.4)

                start >> nap()
        """


def run_once(tmp_path: Path, dags: Path, store: Store, dag_id: str, **overrides: Any) -> int:
    """Parse the folder, trigger ``dag_id`` and run a scheduler until that run ends; its pk."""
    sync(store, dags)
    run_pk = trigger(store, dag_id)
    settings = make_settings(tmp_path, dags, store.url, **overrides)
    run_scheduler(settings, store, runs_finished(store, [run_pk]), what=f"the run of {dag_id}")
    return run_pk


def set_pool(store: Store, name: str, slots: int) -> None:
    with store.write() as conn:
        pools.set_pool(conn, name, slots)


def tries(store: Store, *conditions: Any) -> list[Any]:
    """Every try of the matching task instances: task id, pool slots, start, end."""
    with store.read() as conn:
        return list(
            conn.execute(
                select(
                    task_instance.c.task_id,
                    task_instance.c.pool_slots,
                    task_try.c.start_date,
                    task_try.c.end_date,
                )
                .join(task_try, task_try.c.ti_id == task_instance.c.id)
                .where(*conditions)
                .order_by(task_try.c.start_date)
            )
        )


def peak_slots(rows: list[Any]) -> int:
    """The most slots held at one moment by these tries (an end at t frees before a start)."""
    points = [(r.start_date, 1, r.pool_slots) for r in rows] + [
        (r.end_date, 0, -r.pool_slots) for r in rows
    ]
    best = now = 0
    for _, _, step in sorted(points):
        now += step
        best = max(best, now)
    return best


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    return folder


@pytest.fixture
def store(store_url: str) -> Any:
    opened = Store(store_url, pool=True)
    yield opened
    opened.dispose()


# -- one scheduler, both stores --------------------------------------------------------------


def test_a_pool_of_two_never_runs_more_than_two(tmp_path: Path, dags: Path, store: Store) -> None:
    write_dag(dags, "six.py", napping_dag("six", 6, ', pool="two"'))
    set_pool(store, "two", 2)
    run_pk = run_once(tmp_path, dags, store, "six", parallelism=16)
    naps = tries(store, task_instance.c.run_pk == run_pk, task_instance.c.pool == "two")
    assert len(naps) == 6
    assert peak_slots(naps) == 2  # full, and never more: the pool, not the executor, limits


def meeting_dag(dag_id: str, count: int, folder: Path) -> str:
    """``count`` tasks after a ``start`` that each wait (up to 3 s) until all of them have
    started: run side by side they overlap whatever the machine's load; one at a time, each
    waits its 3 s alone."""
    return f"""
        from pathlib import Path
        from conveyor.model.runtime import get_current_context

        with DAG("{dag_id}", max_active_tasks=16):
            start = EmptyOperator(task_id="start")
            for i in range({count}):
                @task(task_id=f"nap_{{i}}")
                def nap():
                    here = Path({str(folder)!r}) / get_current_context()["run_id"]
                    here.mkdir(parents=True, exist_ok=True)
                    (here / get_current_context()["ti"].task_id).touch()
                    deadline = time.monotonic() + 3
                    while len(list(here.iterdir())) < {count} and time.monotonic() < deadline:
                        time.sleep(0.02)

                start >> nap()
        """


def test_default_pool_has_no_limit_until_one_is_set(
    tmp_path: Path, dags: Path, store: Store
) -> None:
    write_dag(dags, "plain.py", meeting_dag("plain", 4, tmp_path / "arrived"))
    sync(store, dags)
    settings = make_settings(tmp_path, dags, store.url, parallelism=16)
    free = trigger(store, "plain")
    run_scheduler(settings, store, runs_finished(store, [free]), what="the unlimited run")
    in_default = (task_instance.c.pool == "default_pool", task_instance.c.task_id != "start")
    assert peak_slots(tries(store, task_instance.c.run_pk == free, *in_default)) == 4

    set_pool(store, "default_pool", 1)  # tasks that name no pool: one at a time from now on
    limited = trigger(store, "plain")
    run_scheduler(settings, store, runs_finished(store, [limited]), what="the limited run")
    assert peak_slots(tries(store, task_instance.c.run_pk == limited, *in_default)) == 1


def test_a_task_with_two_pool_slots_takes_both(tmp_path: Path, dags: Path, store: Store) -> None:
    write_dag(
        dags,
        "wide.py",
        """
        with DAG("wide", max_active_tasks=16):
            @task(pool="two", pool_slots=2)
            def big():
                time.sleep(0.4)

            big()
            for i in range(4):
                @task(task_id=f"small_{i}", pool="two", priority_weight=2)
                def small():
                    time.sleep(0.3)

                small()
        """,
    )
    set_pool(store, "two", 2)
    run_pk = run_once(tmp_path, dags, store, "wide", parallelism=16)
    ran = tries(store, task_instance.c.run_pk == run_pk)
    assert len(ran) == 5
    assert peak_slots(ran) == 2
    [big] = [r for r in ran if r.task_id == "big"]
    overlapping = [r for r in ran if r.task_id != "big" and r.start_date < big.end_date]
    overlapping = [r for r in overlapping if r.end_date > big.start_date]
    assert overlapping == [], "a one-slot task ran beside the two-slot one in a two-slot pool"
    # Higher priority first: the small ones (2) all started before the big one (1).
    assert all(r.start_date < big.start_date for r in ran if r.task_id != "big")


def test_priority_orders_scarce_slots_across_runs_and_dags(
    tmp_path: Path, dags: Path, store: Store
) -> None:
    write_dag(
        dags,
        "prio.py",
        """
        with DAG("first"):
            for weight in (10, 1, 7):
                @task(task_id=f"first_w{weight}", pool="one", priority_weight=weight)
                def work():
                    time.sleep(0.05)

                work()

        with DAG("second"):
            for weight in (5, 3):
                @task(task_id=f"second_w{weight}", pool="one", priority_weight=weight)
                def work():
                    time.sleep(0.05)

                work()
        """,
    )
    set_pool(store, "one", 0)  # nothing may start until every try waits for the pool
    sync(store, dags)
    run_pks = [trigger(store, "first"), trigger(store, "second"), trigger(store, "first")]
    settings = make_settings(tmp_path, dags, store.url, parallelism=16)

    def all_waiting() -> bool:
        with store.read() as conn:
            return (
                conn.execute(
                    select(func.count()).where(task_instance.c.state == TaskState.SCHEDULED.value)
                ).scalar_one()
                == 8
            )

    run_scheduler(settings, store, all_waiting, what="every try scheduled")
    with store.read() as conn:
        run = runs.get_run(conn, run_pks[0])
        why = explain(conn, run, "first_w10").waiting_for
    assert why == [
        "needs 1 slot of pool 'one', which has 0: give the pool more slots "
        "(`conveyor pools set one 1`) or the task fewer pool_slots"
    ]

    set_pool(store, "one", 1)
    run_scheduler(settings, store, runs_finished(store, run_pks), what="the three runs")
    order = [(r.task_id, r.start_date) for r in tries(store)]
    weights = [int(task_id.rsplit("_w", 1)[1]) for task_id, _ in order]
    assert weights == sorted(weights, reverse=True), f"not by priority: {order}"
    assert peak_slots(tries(store)) == 1


def test_a_freed_executor_slot_goes_to_the_highest_priority_waiting_in_any_run(
    tmp_path: Path, dags: Path, store: Store
) -> None:
    """With every slot under ``parallelism`` taken, a try's end frees one: another run's
    waiting try of higher priority gets it, not the ending try's own downstream (which the
    fast path, and the runner that would keep it, leave scheduled)."""
    release = tmp_path / "release"
    write_dag(
        dags,
        "contest.py",
        f"""
        import os

        with DAG("chain"):
            @task(priority_weight=1, weight_rule="absolute")
            def hold():
                while not os.path.exists({str(release)!r}):
                    time.sleep(0.02)

            @task(priority_weight=1, weight_rule="absolute")
            def after():
                pass

            hold() >> after()

        with DAG("urgent"):
            @task(priority_weight=10, weight_rule="absolute")
            def first():
                pass

            first()
        """,
    )
    sync(store, dags)
    chain = trigger(store, "chain")
    settings = make_settings(tmp_path, dags, store.url, parallelism=1)
    urgent: list[int] = []

    def state_of(task_id: str) -> TaskState:
        with store.read() as conn:
            found = conn.execute(
                select(task_instance.c.state).where(task_instance.c.task_id == task_id)
            ).scalar()
        return TaskState(found or TaskState.NONE.value)

    def contest() -> bool:
        # Once `hold` takes the one slot, `urgent` is triggered; once its try waits for the
        # slot, `hold` is let go, and its end frees the slot both `after` and `first` want.
        if not urgent and state_of("hold") is TaskState.RUNNING:
            urgent.append(trigger(store, "urgent"))
        if urgent and state_of("first") is TaskState.SCHEDULED:
            release.touch()
        return bool(urgent) and runs_finished(store, [chain, *urgent])()

    run_scheduler(settings, store, contest, what="both runs")
    started = {r.task_id: r.start_date for r in tries(store)}
    assert started["first"] < started["after"], f"the lower priority went first: {started}"


def test_a_missing_pool_keeps_the_task_waiting_and_says_why(
    tmp_path: Path, dags: Path, store: Store
) -> None:
    write_dag(
        dags,
        "lost.py",
        """
        with DAG("lost"):
            EmptyOperator(task_id="before") >> EmptyOperator(task_id="gated", pool="nowhere")
        """,
    )
    sync(store, dags)
    run_pk = trigger(store, "lost")
    settings = make_settings(tmp_path, dags, store.url)

    def gated_is(state: TaskState) -> Any:
        def check() -> bool:
            with store.read() as conn:
                found = conn.execute(
                    select(task_instance.c.state).where(
                        task_instance.c.run_pk == run_pk, task_instance.c.task_id == "gated"
                    )
                ).scalar_one()
            return TaskState(found) is state

        return check

    run_scheduler(settings, store, gated_is(TaskState.SCHEDULED), what="gated scheduled")
    end = time.monotonic() + 1.0  # ten more loops: it must stay where it is
    run_scheduler(settings, store, lambda: time.monotonic() >= end, what="a second")
    with store.read() as conn:
        why = explain(conn, runs.get_run(conn, run_pk), "gated").waiting_for
        assert runs.get_run(conn, run_pk).state is RunState.RUNNING
    assert why == [
        "waiting for pool 'nowhere', which does not exist: create it with "
        "`conveyor pools set nowhere SLOTS`"
    ]
    set_pool(store, "nowhere", 1)
    run_scheduler(settings, store, runs_finished(store, [run_pk]), what="the run of lost")
    with store.read() as conn:
        assert runs.get_run(conn, run_pk).state is RunState.SUCCESS


# -- two schedulers at once, PostgreSQL --------------------------------------------------------

MANY = """
with DAG("many_{n}", max_active_tasks=32):
    for i in range(8):
        @task(task_id=f"t_{{i:02d}}", pool="narrow")
        def short():
            time.sleep(0.05)

        short()
"""


#: Waves of six runs at most, until both schedulers have queued tries.
MAX_WAVES = 6


@pytest.mark.postgres
def test_two_schedulers_never_overfill_a_pool(tmp_path: Path, pg_database_url: str) -> None:
    """Many short tries from several runs, a pool of 3, two scheduler processes: every
    queueing transaction (either scheduler's dispatch, any finishing try's fast path) races
    the others for the pool's last slot. A sampler reads the slots in use throughout.
    Slow (about 10 s on a busy machine): it takes many races to catch a missing lock; without
    the pool row lock, this test saw 4 to 6 slots of 3 in use (three runs out of three). Runs
    come in waves until both schedulers have queued some of their tries."""
    dags = tmp_path / "dags"
    dags.mkdir()
    for n in range(3):
        write_dag(dags, f"many_{n}.py", MANY.format(n=n))
    store = Store(pg_database_url, pool=True)
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": pg_database_url,
        "CONVEYOR_EXECUTOR": "local",
        "CONVEYOR_PARALLELISM": "32",
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.05",
        "CONVEYOR_DAG_SCAN_SECONDS": "0.5",
    }
    schedulers: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []
    peak = 0
    sampling = True

    def sample() -> None:
        nonlocal peak
        sampler = Store(pg_database_url)
        try:
            while sampling:
                with sampler.read() as conn:
                    used = conn.execute(
                        select(func.coalesce(func.sum(task_instance.c.pool_slots), 0)).where(
                            task_instance.c.pool == "narrow",
                            task_instance.c.state.in_([s.value for s in IN_FLIGHT]),
                        )
                    ).scalar_one()
                peak = max(peak, int(used))
                time.sleep(0.002)
        finally:
            sampler.dispose()

    try:
        set_pool(store, "narrow", 3)
        sync(store, dags)
        for name in ("s1", "s2"):
            log = (tmp_path / f"{name}.log").open("w")
            logs.append(log)
            schedulers.append(
                subprocess.Popen(
                    [CONVEYOR, "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
        # Both schedulers looping before there is work: on a loaded machine the one that came
        # up first used to dispatch every try before the other one started, racing nobody.
        _wait_for_schedulers(store, [process.pid for process in schedulers])
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        started = time.monotonic()
        # Waves of runs until both schedulers have queued: the one whose loop first sees a
        # wave can dispatch all of it and keep its pool busy through its finishing tries'
        # fast path, so one wave may race nobody. The pool is sampled through every wave.
        run_pks: list[int] = []
        for _wave in range(MAX_WAVES):
            wave = [trigger(store, f"many_{n}") for n in range(3) for _ in range(2)]
            run_pks += wave
            finished = runs_finished(store, wave)
            deadline = time.monotonic() + 90
            while not finished() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert finished(), "runs did not finish:\n" + "\n".join(
                (tmp_path / f"{n}.log").read_text()[-2000:] for n in ("s1", "s2")
            )
            if len(_schedulers_that_queued(store)) == 2:
                break
        sampling = False
        watcher.join(timeout=5)
        print(f"{len(run_pks)} runs in {time.monotonic() - started:.1f}s; peak {peak} slots")
        with store.read() as conn:
            states = conn.execute(select(dag_run.c.state).where(dag_run.c.id.in_(run_pks)))
            assert set(states.scalars()) == {RunState.SUCCESS.value}
        ran = tries(store, task_instance.c.pool == "narrow")
        assert len(ran) == 8 * len(run_pks)
        assert peak <= 3, f"{peak} slots of a 3-slot pool were queued or running at once"
        assert peak_slots(ran) <= 3
        assert len(_schedulers_that_queued(store)) == 2, "both schedulers should have queued"
    finally:
        sampling = False
        for process in schedulers:
            process.terminate()
        for process in schedulers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        store.dispose()


def _wait_for_schedulers(store: Store, pids: list[int], limit: float = 60) -> None:
    """Until each of these scheduler processes has written its heartbeat row."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with store.read() as conn:
            beating = set(conn.execute(select(scheduler.c.pid)).scalars())
        if set(pids) <= beating:
            return
        time.sleep(0.1)
    raise AssertionError(f"schedulers {pids} did not heartbeat within {limit}s")


def _schedulers_that_queued(store: Store) -> set[str]:
    from conveyor.store.tables import task_event

    with store.read() as conn:
        return set(
            conn.execute(
                select(task_event.c.actor).where(
                    task_event.c.kind == "queued", task_event.c.actor.like("scheduler@%")
                )
            ).scalars()
        )


# -- managing pools: the CLI and the REST API ---------------------------------------------------


def test_pools_cli_sets_lists_and_refuses_to_delete_what_is_needed(
    tmp_path: Path, dags: Path, store: Store
) -> None:
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": store.url,
    }

    def conveyor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CONVEYOR, *args], env=env, capture_output=True, text=True, timeout=60
        )

    made = conveyor("pools", "set", "warehouse", "4", "--description", "the DWH")
    assert made.returncode == 0 and "pool warehouse created: 4 slots" in made.stdout
    assert conveyor("pools", "set", "warehouse", "5").returncode == 0
    write_dag(
        dags,
        "busy.py",
        """
        with DAG("busy"):
            EmptyOperator(task_id="load", pool="warehouse", pool_slots=3)
        """,
    )
    sync(store, dags)
    run_pk = trigger(store, "busy")
    with store.write() as conn:  # as the scheduler leaves a try it has queued
        ti_id = conn.execute(
            select(task_instance.c.id).where(task_instance.c.run_pk == run_pk)
        ).scalar_one()
        conn.execute(
            task_instance.update()
            .where(task_instance.c.id == ti_id)
            .values(state=TaskState.QUEUED.value)
        )
    listed = conveyor("pools", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line.split() for line in listed.stdout.splitlines() if "warehouse" in line)
    assert row[:6] == ["warehouse", "5", "3", "3", "0", "0"]  # slots used queued running sched.
    assert any(
        line.split()[:2] == ["default_pool", "unlimited"] for line in listed.stdout.splitlines()
    )

    in_use = conveyor("pools", "delete", "warehouse")
    assert in_use.returncode == 1 and "pool 'warehouse' is in use" in in_use.stderr
    default = conveyor("pools", "delete", "default_pool")
    assert default.returncode == 1 and "default_pool cannot be deleted" in default.stderr
    negative = conveyor("pools", "set", "warehouse", "--", "-2")
    assert negative.returncode == 2 and "'-2' is not a number of slots" in negative.stderr
    with store.write() as conn:
        conn.execute(
            task_instance.update()
            .where(task_instance.c.id == ti_id)
            .values(state=TaskState.SUCCESS.value)
        )
    assert conveyor("pools", "delete", "warehouse").returncode == 0
    assert "warehouse" not in conveyor("pools", "list").stdout
    missing = conveyor("pools", "delete", "warehouse")
    assert missing.returncode == 1 and "no pool 'warehouse'" in missing.stderr


def test_pools_api_reads_for_viewers_and_writes_for_admins(tmp_path: Path, store: Store) -> None:
    from conveyor.web.app import create_app

    app = create_app(make_settings(tmp_path, tmp_path / "dags", store.url), Store(store.url))
    clients = token_clients(app, store)
    try:
        admin, op, viewer = clients["admin"], clients["op"], clients["viewer"]
        put = admin.put("/api/v1/pools/api_quota", json={"slots": 3, "description": "3 calls"})
        assert put.status_code == 200, put.text
        assert put.json() == {
            "name": "api_quota",
            "slots": 3,
            "description": "3 calls",
            "used": 0,
            "queued": 0,
            "running": 0,
            "scheduled": 0,
            "free": 3,
        }
        assert op.put("/api/v1/pools/api_quota", json={"slots": 9}).status_code == 403
        listed = viewer.get("/api/v1/pools")
        assert [p["name"] for p in listed.json()["pools"]] == ["api_quota", "default_pool"]
        assert viewer.get("/api/v1/pools/api_quota").json()["slots"] == 3
        assert viewer.get("/api/v1/pools/nope").status_code == 404
        bad = admin.put("/api/v1/pools/api_quota", json={"slots": -1})
        assert bad.status_code == 422
        assert admin.put("/api/v1/pools/x", json={"slots": "many"}).status_code == 422
        assert admin.put("/api/v1/pools/x", json={"slots": 1, "extra": 1}).status_code == 422
        refused = admin.delete("/api/v1/pools/default_pool")
        assert refused.status_code == 409 and "cannot be deleted" in refused.json()["detail"]
        assert viewer.delete("/api/v1/pools/api_quota").status_code == 403
        assert admin.delete("/api/v1/pools/api_quota").status_code == 204
        assert admin.delete("/api/v1/pools/api_quota").status_code == 404
    finally:
        for client in clients.values():
            client.close()
        app.state.store.dispose()


# -- task groups through the scheduler ---------------------------------------------------------


def test_nested_groups_run_in_the_order_their_wiring_says(
    tmp_path: Path, dags: Path, store: Store
) -> None:
    write_dag(
        dags,
        "grouped.py",
        """
        with DAG("grouped", max_active_tasks=16):
            @task
            def step():
                time.sleep(0.1)

            @task_group
            def load():
                \"\"\"Load both tables.\"\"\"
                step.override(task_id="orders")()
                step.override(task_id="customers")()

            start = EmptyOperator(task_id="start")
            with TaskGroup("etl", default_args={"retries": 2}) as etl:
                extract = step.override(task_id="extract")()
                extract >> load()
            done = EmptyOperator(task_id="done")
            start >> etl >> done
        """,
    )
    run_pk = run_once(tmp_path, dags, store, "grouped")
    with store.read() as conn:
        assert runs.get_run(conn, run_pk).state is RunState.SUCCESS
        max_tries = dict(
            conn.execute(
                select(task_instance.c.task_id, task_instance.c.max_tries).where(
                    task_instance.c.run_pk == run_pk
                )
            ).all()
        )
    assert max_tries == {
        "start": 1,
        "etl.extract": 3,
        "etl.load.orders": 3,
        "etl.load.customers": 3,
        "done": 1,
    }
    ran = {r.task_id: r for r in tries(store, task_instance.c.run_pk == run_pk)}
    for before, after in [
        ("start", "etl.extract"),
        ("etl.extract", "etl.load.orders"),
        ("etl.extract", "etl.load.customers"),
        ("etl.load.orders", "done"),
        ("etl.load.customers", "done"),
    ]:
        assert ran[before].end_date <= ran[after].start_date, f"{after} started before {before}"
    # The two loads are parallel within the group: only the group's wiring orders them.
    assert ran["etl.load.orders"].start_date < ran["etl.load.customers"].end_date


def test_the_dag_detail_api_shows_the_group_tree(tmp_path: Path, dags: Path, store: Store) -> None:
    from fastapi.testclient import TestClient

    from conveyor.web import accounts
    from conveyor.web.app import create_app

    write_dag(
        dags,
        "tree.py",
        """
        with DAG("tree"):
            with TaskGroup("outer", tooltip="the outside"):
                EmptyOperator(task_id="a")
                with TaskGroup("inner"):
                    EmptyOperator(task_id="b")
            EmptyOperator(task_id="alone")
        """,
    )
    sync(store, dags)
    accounts.create_user(store, "viewer", "viewer", "viewer-password-1")
    token = accounts.create_token(store, "viewer", "tests")
    app = create_app(make_settings(tmp_path, dags, store.url), Store(store.url))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        detail = client.get("/api/v1/dags/tree").json()
    app.state.store.dispose()
    assert [t["task_id"] for t in detail["tasks"]] == ["outer.a", "outer.inner.b", "alone"]
    assert detail["task_groups"] == [
        {
            "group_id": "outer",
            "label": "outer",
            "parent": None,
            "tooltip": "the outside",
            "tasks": ["outer.a"],
            "groups": ["outer.inner"],
        },
        {
            "group_id": "outer.inner",
            "label": "inner",
            "parent": "outer",
            "tooltip": "",
            "tasks": ["outer.inner.b"],
            "groups": [],
        },
    ]
