"""Airflow's per-task keywords through the real scheduler and local executor, on both stores.

``max_active_tis_per_dagrun`` / ``max_active_tis_per_dag`` are judged from what ran: each
try's recorded start and end never overlap beyond the limit, and ``conveyor tasks why``
says what held a try back. ``weight_rule`` by the order a one-slot pool lets tries start;
``wait_for_downstream``, a task's own ``start_date``, and ``fail_fast`` by the states and the
timeline they leave.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import run_scheduler, runs_finished
from conveyor.exceptions import NotFoundError
from conveyor.scheduler.explain import explain
from conveyor.states import RunState, TaskState
from conveyor.store import pools, runs
from conveyor.store.tables import task_instance, task_try
from run_env import Env

UTC_MARCH = datetime(2024, 3, 1, tzinfo=UTC)
UTC_JULY = datetime(2024, 7, 1, tzinfo=UTC)


def _tries(env: Env, *conditions: Any) -> list[Any]:
    with env.store.read() as conn:
        return list(
            conn.execute(
                select(
                    task_instance.c.task_id,
                    task_instance.c.run_pk,
                    task_instance.c.map_index,
                    task_try.c.start_date,
                    task_try.c.end_date,
                )
                .join(task_try, task_try.c.ti_id == task_instance.c.id)
                .where(*conditions)
                .order_by(task_try.c.start_date)
            )
        )


def _peak(rows: list[Any]) -> int:
    """The most of these tries running at one moment (an end at t comes before a start)."""
    points = sorted([(r.start_date, 1) for r in rows] + [(r.end_date, -1) for r in rows])
    best = now = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best


def _reasons_while_running(env: Env, run_pks: list[int], **settings: Any) -> set[str]:
    """Run a scheduler until the runs end, asking "why" of every scheduled try meanwhile."""
    done = runs_finished(env.store, run_pks)
    reasons: set[str] = set()

    def until() -> bool:
        with env.store.read() as conn:
            waiting = conn.execute(
                select(
                    task_instance.c.run_pk, task_instance.c.task_id, task_instance.c.map_index
                ).where(task_instance.c.state == TaskState.SCHEDULED.value)
            ).all()
            firsts = {row.task_id: row for row in waiting}  # one of each task is enough
            for row in firsts.values():
                run = runs.get_run(conn, row.run_pk)
                index = row.map_index if row.map_index >= 0 else None
                reasons.update(explain(conn, run, row.task_id, index).waiting_for)
        return done()

    run_scheduler(env.settings(**settings), env.store, until, limit=60, what="the runs' end")
    return reasons


def test_per_run_and_per_dag_limits_hold_and_are_explained(env: Env) -> None:
    env.write_dag(
        "limits.py",
        """
        with DAG("per_run", max_active_tasks=16):
            @task(max_active_tis_per_dagrun=2)
            def nap(x):
                time.sleep(0.3)

            nap.expand(x=list(range(6)))

        with DAG("per_dag", max_active_runs=3, max_active_tasks=16):
            @task(max_active_tis_per_dag=2)
            def only_two():
                time.sleep(0.4)

            @task
            def free():
                pass

            only_two()
            free()
        """,
    )
    env.sync()
    mapped = env.trigger("per_run")
    across = [env.trigger("per_dag") for _ in range(3)]
    reasons = _reasons_while_running(env, [mapped, *across], parallelism=16)
    for run_pk in (mapped, *across):
        assert env.run_state(run_pk) is RunState.SUCCESS
    naps = _tries(env, task_instance.c.run_pk == mapped)
    assert len(naps) == 6
    assert _peak(naps) <= 2, "more than max_active_tis_per_dagrun=2 instances ran at once"
    only = _tries(env, task_instance.c.run_pk.in_(across), task_instance.c.task_id == "only_two")
    assert len(only) == 3
    assert _peak(only) <= 2, "more than max_active_tis_per_dag=2 ran across the DAG's runs"
    per_run = {r for r in reasons if "max_active_tis_per_dagrun=2" in r}
    per_dag = {r for r in reasons if "max_active_tis_per_dag=2" in r}
    assert per_run and all(r.endswith("2 running in this run") for r in per_run), reasons
    assert per_dag, reasons
    found = next(iter(per_dag))
    assert found.startswith("waiting: max_active_tis_per_dag=2, 2 running in runs manual__")


def test_weight_rule_orders_tries_as_airflow_does(env: Env) -> None:
    env.write_dag(
        "weights.py",
        """
        def work():
            return None

        with DAG("weights"):
            # Downstream (the default): head's 1 + 3 downstream tasks of 1 = 4 beats lone's 3.
            head = task(task_id="head", pool="one")(work)()
            head >> task(task_id="mid", pool="one")(work)() >> [
                task(task_id=f"tail_{i}", pool="one")(work)() for i in range(2)
            ]
            task(task_id="lone", pool="one", priority_weight=3)(work)()
            # Absolute: 2, below lone's 3 though it has downstream tasks.
            flat = task(task_id="flat", pool="one", priority_weight=2, weight_rule="absolute")(
                work
            )()
            flat >> task(task_id="after_flat", pool="one", priority_weight=5)(work)()
        """,
    )
    with env.store.write() as conn:
        pools.set_pool(conn, "one", 1)
    env.sync()
    run_pk = env.trigger("weights")
    env.run(run_pk, limit=40)
    assert env.run_state(run_pk) is RunState.SUCCESS
    with env.store.read() as conn:
        weights = dict(
            conn.execute(
                select(task_instance.c.task_id, task_instance.c.priority_weight).where(
                    task_instance.c.run_pk == run_pk
                )
            ).all()
        )
    assert weights["head"] == 4 and weights["mid"] == 3 and weights["tail_0"] == 1
    assert weights["lone"] == 3 and weights["flat"] == 2 and weights["after_flat"] == 5
    order = [r.task_id for r in _tries(env, task_instance.c.run_pk == run_pk)]
    # One slot: of the first ready (head, lone, flat) head goes first, flat last.
    assert order.index("head") < order.index("lone") < order.index("flat"), order


def test_wait_for_downstream_waits_for_the_previous_runs_downstream(env: Env) -> None:
    env.write_dag(
        "waits.py",
        """
        with DAG("waits", start_date=START, schedule=None):
            @task(wait_for_downstream=True)
            def first():
                pass

            @task
            def second(**context):
                if context["logical_date"].month == 3:
                    raise Fail("the March run's second fails")

            first() >> second()
        """,
    )
    env.sync()
    march = env.trigger("waits", at=UTC_MARCH)
    env.run(march)
    assert env.states(march) == {"first": TaskState.SUCCESS, "second": TaskState.FAILED}
    july = env.trigger("waits", at=UTC_JULY)
    env.run_for(2.0)
    assert env.states(july)["first"] is TaskState.NONE  # depends_on_past alone would run it
    with env.store.read() as conn:
        why = explain(conn, runs.get_run(conn, july), "first").waiting_for
    assert why == ["depends_on_past: wait_for_downstream: the previous run's second is failed"], why


def test_a_task_outside_its_own_dates_has_no_instance(env: Env) -> None:
    env.write_dag(
        "dated.py",
        """
        with DAG("dated_leaf", start_date=START, schedule=None):
            EmptyOperator(task_id="always")
            EmptyOperator(task_id="late", start_date=datetime(2024, 6, 1))

        with DAG("dated_middle", start_date=START, schedule=None):
            late = EmptyOperator(task_id="late", start_date=datetime(2024, 6, 1))
            late >> EmptyOperator(task_id="after")
        """,
    )
    env.sync()
    leaf_march = env.trigger("dated_leaf", at=UTC_MARCH)
    middle_march = env.trigger("dated_middle", at=UTC_MARCH)
    leaf_july = env.trigger("dated_leaf", at=UTC_JULY)
    env.run(leaf_march, middle_march, leaf_july)
    # As on Airflow: no instance before the task's start_date; a leaf missing does not
    # decide the run, a task downstream of it waits for it until the run deadlocks.
    assert env.states(leaf_march) == {"always": TaskState.SUCCESS}
    assert env.run_state(leaf_march) is RunState.SUCCESS
    assert env.states(middle_march) == {"after": TaskState.NONE}
    assert env.run_state(middle_march) is RunState.FAILED
    assert env.states(leaf_july) == {"always": TaskState.SUCCESS, "late": TaskState.SUCCESS}
    with env.store.read() as conn:
        run = runs.get_run(conn, leaf_march)
        with pytest.raises(NotFoundError, match="its start_date 2024-06-01 00:00:00 UTC is after"):
            explain(conn, run, "late")


def test_fail_fast_fails_running_tries_and_skips_the_rest(env: Env) -> None:
    env.write_dag(
        "fast.py",
        """
        started = Path("@TMP@") / "slow-started"

        with DAG("fast", fail_fast=True, max_active_tasks=16):
            @task
            def boom():
                deadline = time.monotonic() + 10
                while not started.exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
                raise Fail("boom")

            @task
            def slow():
                started.touch()
                time.sleep(2)

            @task
            def later():
                pass

            boom()
            slow() >> later()
        """,
    )
    env.sync()
    run_pk = env.trigger("fast")
    begun = time.monotonic()
    env.run(run_pk, limit=30)
    took = time.monotonic() - begun
    env.run_for(2.5)  # slow's own end comes in meanwhile: it must not undo the failure
    states = env.states(run_pk)
    assert states["boom"] is TaskState.FAILED
    assert states["slow"] is TaskState.FAILED
    assert states["later"] is TaskState.SKIPPED
    assert env.run_state(run_pk) is RunState.FAILED
    assert took < 10
    reasons = [e.message for e in env.events(run_pk, "slow")]
    assert any("fail_fast: task boom failed" in (m or "") for m in reasons), reasons
    skipped = [e.message for e in env.events(run_pk, "later")]
    assert any("fail_fast: task boom failed" in (m or "") for m in skipped), skipped
    # Its try was stopped as a person's mark stops one: closed as stopped, its process asked
    # to end (the executor's delivery of that is tests/integration/test_stopping.py's).
    (slow_try,) = env.tries(run_pk, "slow")
    assert slow_try.exit_kind == "stopped", slow_try
    assert any("its process is being stopped" in (m or "") for m in reasons), reasons
    with env.store.read() as conn:
        slow_tries = conn.execute(
            select(func.count())
            .select_from(task_try.join(task_instance, task_instance.c.id == task_try.c.ti_id))
            .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == "slow")
        ).scalar_one()
    assert slow_tries == 1


def test_display_names_and_map_index_template_reach_the_api(env: Env) -> None:
    from conftest import token_clients
    from conveyor.web.app import create_app

    env.write_dag(
        "shown.py",
        """
        from conveyor.model.runtime import get_current_context

        with DAG("shown", dag_display_name="Shown nicely"):
            def note_label(context):  # ti.rendered_map_index, as a callback reads it
                name = f"label-{context['ti'].map_index}"
                Path("@TMP@", name).write_text(str(context["ti"].rendered_map_index))

            @task(
                task_display_name="Each file",
                map_index_template="{{ label }}",
                on_success_callback=note_label,
            )
            def each(name):
                get_current_context()["label"] = f"file {name}"  # as Airflow's docs do it

            @task(map_index_template="{{ missing_name }}")
            def broken(x):
                raise Fail("its own error, not the template's")

            each.expand(name=["a.csv", "b.csv"])
            broken.expand(x=[1])
        """,
    )
    env.sync()
    run_pk = env.trigger("shown")
    env.run(run_pk)
    settings = env.settings()
    app = create_app(settings, env.store)
    client = token_clients(app, env.store)["viewer"]
    with env.store.read() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
    dags = client.get("/api/v1/dags").json()["dags"]
    assert {d["dag_id"]: d["dag_display_name"] for d in dags} == {"shown": "Shown nicely"}
    detail = client.get("/api/v1/dags/shown").json()
    names = {t["task_id"]: t["task_display_name"] for t in detail["tasks"]}
    assert names == {"each": "Each file", "broken": "broken"}
    listed = client.get(f"/api/v1/dags/shown/runs/{run_id}/tasks").json()["task_instances"]
    labels = {(t["task_id"], t["map_index"]): t["rendered_map_index"] for t in listed}
    assert labels == {("each", 0): "file a.csv", ("each", 1): "file b.csv", ("broken", 0): None}
    assert {t["task_display_name"] for t in listed if t["task_id"] == "each"} == {"Each file"}
    one = client.get(f"/api/v1/dags/shown/runs/{run_id}/tasks/each/mapped/1").json()
    assert one["rendered_map_index"] == "file b.csv"
    assert env.states(run_pk)["broken"] is TaskState.FAILED
    # The UI: the DAG page's title, the graph's node, the mapped instance's page.
    assert "Shown nicely" in client.get("/dags/shown").text
    nodes = client.get("/dags/shown/graph/layout").json()["nodes"]
    assert {n["id"]: n.get("label") for n in nodes} == {"each": "Each file", "broken": None}
    page = client.get(f"/dags/shown/runs/{run_id}/tasks/each/mapped/1").text
    assert "Each file" in page and "[file b.csv]" in page
    # Callbacks read it as ti.rendered_map_index; the CLI shows it beside the index.
    assert (env.tmp / "label-1").read_text() == "file b.csv"
    from click.testing import CliRunner

    from conveyor.cli.common import settings as cli_settings
    from conveyor.cli.main import cli

    cli_settings.cache_clear()
    environ = {"CONVEYOR_HOME": str(env.tmp / "home"), "CONVEYOR_DATABASE_URL": env.store.url}
    try:
        listed_cli = CliRunner().invoke(cli, ["tasks", "list", "shown", run_id], env=environ)
        shown_run = CliRunner().invoke(cli, ["runs", "show", "shown", run_id], env=environ)
        why = CliRunner().invoke(
            cli, ["tasks", "why", "shown", run_id, "each", "--map-index", "1"], env=environ
        )
        render = CliRunner().invoke(
            cli, ["tasks", "render", "shown", "each", run_id, "--map-index", "1"], env=environ
        )
        render_json = CliRunner().invoke(
            cli,
            ["tasks", "render", "shown", "each", run_id, "--map-index", "0", "-o", "json"],
            env=environ,
        )
        unnamed = CliRunner().invoke(
            cli, ["tasks", "why", "shown", run_id, "broken", "--map-index", "0"], env=environ
        )
    finally:
        cli_settings.cache_clear()
    assert listed_cli.exit_code == 0, listed_cli.output
    assert "1 (file b.csv)" in listed_cli.output
    assert "each[0] file a.csv" in shown_run.output, shown_run.output
    assert why.exit_code == 0, why.output
    assert f"shown.each[1 (file b.csv)] in run {run_id}" in why.output, why.output
    assert render.exit_code == 0, render.output
    assert render.output.startswith(f"# shown.each[1 (file b.csv)] in run {run_id}, try 1\n")
    assert "# property: op_kwargs" in render.output, render.output
    assert render_json.exit_code == 0, render_json.output
    assert json.loads(render_json.output)["rendered_map_index"] == "file a.csv"
    # A template that failed to render names the instance by its index alone.
    assert unnamed.exit_code == 0, unnamed.output
    assert f"shown.broken[0] in run {run_id}" in unnamed.output, unnamed.output
    # conveyor run's progress lines name it too.
    from rich.console import Console

    from conveyor.cli.run_watch import RunWatcher

    console = Console(record=True, width=200)
    RunWatcher(env.store, run_pk, console, progress_lines=True).look()
    assert "each[1] file b.csv success" in console.export_text()


@pytest.mark.postgres
def test_two_queuers_of_different_runs_never_overrun_a_per_dag_limit(
    tmp_path: Any, pg_database_url: str
) -> None:
    """Two transactions queue the same task's tries from two runs at once: the second waits
    for the first's lock and then finds the limit full, so one try is queued, not two."""
    import threading

    from conveyor.engine import progress
    from conveyor.engine.runs import start_run
    from conveyor.lifecycle import Actor
    from conveyor.store.engine import Store

    store = Store(pg_database_url, pool=True)
    try:
        env = Env(tmp_path, tmp_path / "dags", store)
        env.dags.mkdir()
        env.write_dag(
            "one.py",
            """
            with DAG("one_at_a_time", max_active_runs=2):
                EmptyOperator(task_id="only", max_active_tis_per_dag=1)
            """,
        )
        env.sync()
        actor = Actor("test")
        pks = [env.trigger("one_at_a_time") for _ in range(2)]
        for pk in pks:
            with store.write() as conn:
                assert start_run(conn, pk)
                assert progress.plan_claimed_run(conn, pk, actor) is not None
        queued: dict[int, int] = {}
        first_holds = threading.Event()

        def first() -> None:
            with store.write() as conn:
                queued[pks[0]] = len(progress.queue_scheduled(conn, pks[0], actor))
                first_holds.set()
                time.sleep(1.0)  # the second queuer comes meanwhile, and must wait

        def second() -> None:
            first_holds.wait(10)
            with store.write() as conn:
                queued[pks[1]] = len(progress.queue_scheduled(conn, pks[1], actor))

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert queued == {pks[0]: 1, pks[1]: 0}
        with store.read() as conn:
            states = [runs.task_instances(conn, pk)[0].state for pk in pks]
        assert states == [TaskState.QUEUED, TaskState.SCHEDULED]
    finally:
        store.dispose()


def test_the_keys_run_the_same_from_a_yaml_file(env: Env) -> None:
    """A YAML DAG's task start_date and fail_fast hold as a Python DAG's do (every key's
    meaning: tests/unit/test_yaml_airflow_keys.py)."""
    env.write_dag(
        "keys.yaml",
        """
        dags:
          y_dated:
            tasks:
              always: {operator: empty}
              late: {operator: empty, start_date: 2024-06-01}
          y_fast:
            fail_fast: true
            max_active_tasks: 16
            tasks:
              boom:
                operator: bash
                bash_command: >-
                  for i in $(seq 500); do [ -e @TMP@/slow-started ] && break; sleep 0.02;
                  done; exit 1
              slow:
                operator: bash
                bash_command: touch @TMP@/slow-started && sleep 60
              later: {operator: empty, depends_on: [slow]}
        """,
        header=False,
    )
    env.sync()
    march = env.trigger("y_dated", at=UTC_MARCH)
    july = env.trigger("y_dated", at=UTC_JULY)
    fast = env.trigger("y_fast")
    begun = time.monotonic()
    env.run(march, july, fast, limit=30)
    assert env.states(march) == {"always": TaskState.SUCCESS}
    assert env.states(july) == {"always": TaskState.SUCCESS, "late": TaskState.SUCCESS}
    assert env.states(fast) == {
        "boom": TaskState.FAILED,
        "slow": TaskState.FAILED,
        "later": TaskState.SKIPPED,
    }
    # slow was stopped, not waited for: its minute of sleep would outlast the run's limit.
    assert time.monotonic() - begun < 30
    skipped = [e.message for e in env.events(fast, "later")]
    assert any("fail_fast: task boom failed" in (m or "") for m in skipped), skipped
