"""Setup / teardown, short circuit and latest-only through the real scheduler, local
executor and DAG file processor, on SQLite and PostgreSQL: the task states and outputs a
pipeline author expects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from conftest import run_scheduler
from conveyor.clock import utcnow
from conveyor.scheduler.explain import explain
from conveyor.states import RunState, TaskState
from conveyor.store import mapping, runs
from conveyor.store.tables import dag_run, task_instance, xcom
from run_env import Env, run_one

S, F, SK, UF = (
    TaskState.SUCCESS,
    TaskState.FAILED,
    TaskState.SKIPPED,
    TaskState.UPSTREAM_FAILED,
)


def xcom_value(env: Env, run_pk: int, task_id: str) -> Any:
    with env.store.read() as conn:
        return conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id)
        ).scalar_one_or_none()


def test_teardown_runs_after_failed_work_and_the_run_fails(env: Env) -> None:
    env.write_dag(
        "st.py",
        """
        from conveyor import setup, teardown

        with DAG("st", start_date=START):
            @setup
            def create():
                Path("@TMP@/resource").write_text("made")
                return "@TMP@/resource"

            @task
            def work(path):
                raise RuntimeError("work broke")

            @teardown
            def delete(path):
                Path(path).unlink()
                return "deleted"

            made = create()
            work(made) >> delete(made)
        """,
    )
    run_pk = run_one(env, "st")
    assert env.states(run_pk) == {"create": S, "work": F, "delete": S}
    assert env.run_state(run_pk) is RunState.FAILED  # the failed work decides, not the teardown
    assert not (env.tmp / "resource").exists()
    assert xcom_value(env, run_pk, "delete") == "deleted"


def test_teardown_failure_alone_leaves_the_run_successful_unless_asked(env: Env) -> None:
    env.write_dag(
        "td.py",
        """
        with DAG("td_soft", start_date=START):
            s = EmptyOperator(task_id="s")
            w = EmptyOperator(task_id="w")
            t = BashOperator(task_id="t", bash_command="exit 3").as_teardown(setups=s)
            s >> w >> t

        with DAG("td_hard", start_date=START):
            s = EmptyOperator(task_id="s")
            w = EmptyOperator(task_id="w")
            t = BashOperator(task_id="t", bash_command="exit 3").as_teardown(
                setups=s, on_failure_fail_dagrun=True
            )
            s >> w >> t

        with DAG("td_nosetup", start_date=START):
            s = BashOperator(task_id="s", bash_command="exit 1").as_setup()
            w = EmptyOperator(task_id="w", trigger_rule="all_done")
            t = EmptyOperator(task_id="t").as_teardown(setups=s)
            s >> w >> t
        """,
    )
    env.sync()
    soft, hard, nosetup = env.trigger("td_soft"), env.trigger("td_hard"), env.trigger("td_nosetup")
    env.run(soft, hard, nosetup)
    assert env.states(soft) == {"s": S, "w": S, "t": F}
    assert env.run_state(soft) is RunState.SUCCESS
    assert env.states(hard) == {"s": S, "w": S, "t": F}
    assert env.run_state(hard) is RunState.FAILED
    assert env.states(nosetup) == {"s": F, "w": S, "t": UF}  # a teardown needs its setup
    # as for any DAG, the leaves decide: w (all_done) succeeded, so the run did
    assert env.run_state(nosetup) is RunState.SUCCESS


def test_short_circuit_skips_all_or_only_direct_downstream(env: Env) -> None:
    env.write_dag(
        "sc.py",
        """
        from conveyor import ShortCircuitOperator

        with DAG("sc", start_date=START):
            go = ShortCircuitOperator(task_id="go", python_callable=lambda: "yes")
            stop_all = ShortCircuitOperator(task_id="stop_all", python_callable=lambda: 0)
            stop_direct = ShortCircuitOperator(
                task_id="stop_direct", python_callable=lambda: [],
                ignore_downstream_trigger_rules=False,
            )
            go >> EmptyOperator(task_id="after_go")
            stop_all >> EmptyOperator(task_id="a1") >> EmptyOperator(
                task_id="a2", trigger_rule="none_failed"
            )
            stop_direct >> EmptyOperator(task_id="d1") >> EmptyOperator(
                task_id="d2", trigger_rule="none_failed"
            )

            @task.short_circuit
            def decide(n=3):
                return n > 5

            decide() >> EmptyOperator(task_id="after_decide")
        """,
    )
    run_pk = run_one(env, "sc")
    assert env.states(run_pk) == {
        "go": S,
        "after_go": S,
        "stop_all": S,
        "a1": SK,
        "a2": SK,  # skipped despite none_failed: the circuit ignores trigger rules
        "stop_direct": S,
        "d1": SK,
        "d2": S,  # only the direct downstream was skipped; none_failed lets d2 run
        "decide": S,
        "after_decide": SK,
    }
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert xcom_value(env, run_pk, "go") == "yes"


def test_latest_only_runs_downstream_only_in_the_latest_interval(env: Env) -> None:
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - timedelta(days=3)
    env.write_dag(
        "latest.py",
        f"""
        from conveyor import LatestOnlyOperator

        with DAG(
            "latest", schedule="@daily", catchup=True,
            start_date=datetime.fromisoformat("{start.isoformat()}"),
        ):
            LatestOnlyOperator(task_id="latest_only") >> EmptyOperator(task_id="report")
        """,
    )

    def three_done() -> bool:
        found = env.dag_runs("latest")
        return len(found) >= 3 and all(r.state in ("success", "failed") for r in found)

    run_scheduler(env.settings(), env.store, three_done, what="three daily runs finished")
    found = env.dag_runs("latest")
    reports = [env.states(r.id)["report"] for r in found]
    assert reports == [SK, SK, S]
    assert {r.state for r in found} == {"success"}
    manual = env.trigger("latest")
    env.run(manual)
    assert env.states(manual)["report"] is S  # a manual run always goes on


def test_a_task_group_mapped_over_a_list_runs_its_tasks_per_element(env: Env) -> None:
    env.write_dag(
        "groups.py",
        """
        from conveyor import task_group

        with DAG("mapped_group", start_date=START):
            @task
            def files():
                return ["a", "bb", "ccc"]

            @task
            def extract(path, suffix):
                return path + suffix

            @task
            def measure(text):
                return len(text)

            @task_group
            def per_file(path, suffix):
                return measure(extract(path, suffix))

            @task
            def total(lengths):
                return sum(lengths)

            total(per_file.partial(suffix="!").expand(path=files()))

            @task
            def pair(x, y):
                return f"{x}-{y}"

            @task_group
            def per_pair(x, y):
                pair(x, y)

            per_pair.expand_kwargs([{"x": 1, "y": "one"}, {"x": 2, "y": "two"}])
        """,
    )
    run_pk = run_one(env, "mapped_group")
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert xcom_value_list(env, run_pk, "per_file.extract") == ["a!", "bb!", "ccc!"]
    assert xcom_value_list(env, run_pk, "per_file.measure") == [2, 3, 4]
    assert xcom_value(env, run_pk, "total") == 9
    assert xcom_value_list(env, run_pk, "per_pair.pair") == ["1-one", "2-two"]
    with env.store.read() as conn:
        from conveyor.store.tables import task_instance

        instances = conn.execute(
            select(task_instance.c.task_id, task_instance.c.map_index).where(
                task_instance.c.run_pk == run_pk, task_instance.c.task_id == "per_file.measure"
            )
        ).all()
    assert sorted(i.map_index for i in instances) == [0, 1, 2]


def test_every_task_of_a_mapped_task_group_runs_per_element(env: Env) -> None:
    """As in Airflow, a classic operator made inside the group is mapped too: given the
    group's argument or a group task's output it gets that instance's element; given none,
    it runs once per element, each instance with its own map index."""
    env.write_dag(
        "groups.py",
        """
        from conveyor import task_group

        with DAG("mapped_classic", start_date=START):
            @task
            def commands():
                return ["echo one", "echo two", "echo three"]

            @task
            def again(command):
                return command + " again"

            @task
            def unmapped_args():
                return "same"

            @task_group
            def per_command(command):
                more = again(command)
                more >> BashOperator(task_id="plain", bash_command="echo {{ ti.map_index }}")
                BashOperator(task_id="given_arg", bash_command=command)
                BashOperator(task_id="given_output", bash_command=more)
                BashOperator(task_id="inside", bash_command='echo "[$C]"', env={"C": command})
                unmapped_args()

            per_command.expand(command=commands())
        """,
    )
    run_pk = run_one(env, "mapped_classic")
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert xcom_value_list(env, run_pk, "per_command.plain") == ["0", "1", "2"]
    assert xcom_value_list(env, run_pk, "per_command.given_arg") == ["one", "two", "three"]
    assert xcom_value_list(env, run_pk, "per_command.given_output") == [
        "one again",
        "two again",
        "three again",
    ]
    assert xcom_value_list(env, run_pk, "per_command.unmapped_args") == ["same"] * 3
    # Inside a container, each instance's element too.
    assert xcom_value_list(env, run_pk, "per_command.inside") == [
        "[echo one]",
        "[echo two]",
        "[echo three]",
    ]


def test_one_failed_element_of_a_mapped_task_group_stops_only_its_own_index(env: Env) -> None:
    """As in Airflow, instance i of a group's task follows instance i of the group's task
    before it: element 2 fails, its ``load`` fails upstream, the others load what their own
    ``extract`` returned; the task after the group waits for every instance."""
    env.write_dag(
        "group_fails.py",
        """
        from conveyor import task_group

        with DAG("group_one_fails", start_date=START):
            @task
            def extract(n):
                if n == 2:
                    raise ValueError("element 2 is bad")
                return n * 10

            @task
            def load(value):
                return value + 1

            @task(trigger_rule="all_done")
            def report(values):
                return sorted(values)

            @task_group
            def each(n):
                return load(extract(n))

            report(each.expand(n=[1, 2, 3]))
        """,
    )
    run_pk = run_one(env, "group_one_fails")
    assert env.run_state(run_pk) is RunState.SUCCESS  # its leaf, all_done, succeeded
    with env.store.read() as conn:
        rows = runs.task_instances(conn, run_pk)
    states = {(r.task_id, r.map_index): r.state for r in rows if r.task_id.startswith("each.")}
    assert states == {
        ("each.extract", 0): TaskState.SUCCESS,
        ("each.extract", 1): TaskState.FAILED,
        ("each.extract", 2): TaskState.SUCCESS,
        ("each.load", 0): TaskState.SUCCESS,
        ("each.load", 1): TaskState.UPSTREAM_FAILED,
        ("each.load", 2): TaskState.SUCCESS,
    }
    assert xcom_value_list(env, run_pk, "each.load") == [11, 31]  # index 2 read 30, not 10
    assert xcom_value_list(env, run_pk, "report") == [[11, 31]]


def test_why_a_mapped_group_task_waits_names_the_instance_at_its_own_index(env: Env) -> None:
    """``conveyor tasks why`` (and /api/v2's dependencies): instance 1 of ``after`` waits for
    instance 1 of ``check``, instance 0 is ready since ``check``'s instance 0 succeeded."""
    env.write_dag(
        "group_why.py",
        """
        from conveyor import task_group

        with DAG("group_why", start_date=START):
            @task
            def check(n):
                return n

            @task
            def after(value):
                return value

            @task_group
            def each(n):
                after(check(n))

            each.expand(n=[1, 2])
        """,
    )
    env.sync()
    run_pk = env.trigger("group_why")
    with env.store.write() as conn:
        placeholders = {ti.task_id: ti.id for ti in runs.task_instances(conn, run_pk)}
        for task_id in ("each.check", "each.after"):
            assert mapping.expand_instances(conn, placeholders[task_id], 2) is not None
        for index, state in ((0, TaskState.SUCCESS), (1, TaskState.RUNNING)):
            conn.execute(
                update(task_instance)
                .where(
                    task_instance.c.run_pk == run_pk,
                    task_instance.c.task_id == "each.check",
                    task_instance.c.map_index == index,
                )
                .values(state=state.value)
            )
        conn.execute(
            update(dag_run).where(dag_run.c.id == run_pk).values(state=RunState.RUNNING.value)
        )
    with env.store.read() as conn:
        run = runs.get_run(conn, run_pk)
        second = explain(conn, run, "each.after", 1).waiting_for
        first = explain(conn, run, "each.after", 0).waiting_for
    assert len(second) == 1 and "waiting for each.check[1]" in second[0], second
    assert first == ["ready: the scheduler will schedule it on its next loop"]


def xcom_value_list(env: Env, run_pk: int, task_id: str) -> list[Any]:
    with env.store.read() as conn:
        rows = conn.execute(
            select(xcom.c.value)
            .where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id)
            .order_by(xcom.c.map_index)
        )
        return list(rows.scalars())


def test_templates_see_macros_and_read_script_files(env: Env) -> None:
    (env.dags / "scripts").mkdir()
    (env.dags / "scripts" / "report.sh").write_text(
        'echo "{{ task_instance_key_str }} {{ macros.ds_add(ds, 1) }} {{ params.who }}"\n'
    )
    env.write_dag(
        "templated.py",
        """
        with DAG("templated", start_date=START, params={"who": "ops"},
                 template_searchpath="@TMP@/dags/scripts"):
            BashOperator(task_id="report", bash_command="report.sh")
            BashOperator(task_id="dates", bash_command="echo {{ execution_date.year }}")
        """,
    )
    env.sync()
    run_pk = env.trigger("templated", at=datetime_at(2026, 2, 28))
    env.run(run_pk)
    assert env.states(run_pk) == {"report": S, "dates": S}
    assert xcom_value(env, run_pk, "report") == "templated__report__20260228 2026-03-01 ops"
    assert xcom_value(env, run_pk, "dates") == "2026"


def datetime_at(year: int, month: int, day: int) -> Any:
    from datetime import UTC, datetime

    return datetime(year, month, day, tzinfo=UTC)
