"""The DAG model is what authors touch first; its errors must point at the line they wrote.

These tests pin constructor validation, how tasks find their DAG (context manager, ``@dag``,
explicit ``dag=``), the dependency operators, the exact cycle and duplicate-id messages, a
topological order that does not depend on the interpreter's hash seed, and ``default_args``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conveyor import (
    DAG,
    BaseOperator,
    BashOperator,
    EmptyOperator,
    PythonOperator,
    chain,
    dag,
    task,
)
from conveyor.exceptions import CycleError, DagDefinitionError
from conveyor.model.context import DagContext
from conveyor.model.xcom_arg import XComArg

AMS = ZoneInfo("Europe/Amsterdam")


def empty(task_id: str, **kwargs: Any) -> EmptyOperator:
    return EmptyOperator(task_id=task_id, **kwargs)


def edges(d: DAG) -> set[tuple[str, str]]:
    return {(t.task_id, down) for t in d.tasks for down in t.downstream_task_ids}


# -- constructor -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["", "has space", "a/b", "é", "x" * 251, 123, None])
def test_invalid_dag_id_is_refused_with_the_id_named(bad_id: object) -> None:
    with pytest.raises(DagDefinitionError, match="invalid dag_id") as err:
        DAG(bad_id)  # type: ignore[arg-type]
    assert repr(bad_id) in str(err.value)


@pytest.mark.parametrize("good_id", ["etl", "etl.daily", "etl-daily_2", "x" * 250])
def test_valid_dag_ids_are_accepted(good_id: str) -> None:
    assert DAG(good_id).dag_id == good_id


@pytest.mark.parametrize("name", ["max_active_runs", "max_active_tasks"])
@pytest.mark.parametrize("value", [0, -1, "3"])
def test_max_active_limits_below_one_are_refused(name: str, value: object) -> None:
    with pytest.raises(DagDefinitionError) as err:
        DAG("d", **{name: value})  # type: ignore[arg-type]
    assert str(err.value) == f"DAG 'd': {name} must be >= 1, got {value!r}"


def test_naive_start_date_is_read_in_the_dag_timezone() -> None:
    d = DAG("d", start_date=datetime(2024, 1, 1), timezone="Europe/Amsterdam")
    assert d.timezone == AMS
    # Midnight in Amsterdam (winter, UTC+1) is 23:00 UTC the day before; stored in UTC.
    assert d.start_date == datetime(2023, 12, 31, 23, 0, tzinfo=UTC)
    assert d.start_date is not None and d.start_date.utcoffset() == timedelta(0)


def test_naive_start_date_without_timezone_is_utc() -> None:
    d = DAG("d", start_date=datetime(2024, 1, 1), end_date=datetime(2024, 2, 1))
    assert d.timezone == ZoneInfo("UTC")
    assert d.start_date == datetime(2024, 1, 1, tzinfo=UTC)
    assert d.end_date == datetime(2024, 2, 1, tzinfo=UTC)


def test_timezone_is_taken_from_an_aware_start_date() -> None:
    d = DAG("d", start_date=datetime(2024, 6, 1, tzinfo=AMS))
    assert d.timezone == AMS
    assert d.start_date == datetime(2024, 5, 31, 22, 0, tzinfo=UTC)


def test_unknown_timezone_string_is_refused() -> None:
    with pytest.raises(DagDefinitionError, match="unknown time zone 'Mars/Olympus'"):
        DAG("d", timezone="Mars/Olympus")


def test_start_date_must_be_a_datetime() -> None:
    with pytest.raises(DagDefinitionError, match="expected a datetime, got '2024-01-01'"):
        DAG("d", start_date="2024-01-01")  # type: ignore[arg-type]


# -- context manager and @dag --------------------------------------------------------------------


def test_tasks_created_inside_with_join_the_innermost_open_dag() -> None:
    with DAG("outer") as outer:
        a = empty("a")
        with DAG("inner") as inner:
            b = empty("b")
        c = empty("c")
    assert outer.task_ids == ["a", "c"]
    assert inner.task_ids == ["b"]
    assert (a.dag, b.dag, c.dag) == (outer, inner, outer)
    assert DagContext.current() is None


def test_task_outside_any_dag_has_none_and_explicit_dag_argument_wins() -> None:
    loose = empty("loose")
    assert loose.dag is None
    target = DAG("target")
    with DAG("other") as other:
        placed = empty("placed", dag=target)
    assert placed.dag is target
    assert target.task_ids == ["placed"]
    assert other.task_ids == []


def test_context_is_closed_even_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), DAG("d"):
        raise RuntimeError("boom")
    assert DagContext.current() is None


def test_dag_decorator_takes_params_from_defaults_and_description_from_docstring() -> None:
    @dag(schedule="@daily", start_date=datetime(2024, 1, 1))
    def nightly(rows: int = 10, table: str = "events") -> None:
        """Load the night's events.

        More detail that is not part of the one-line description.
        """
        empty("only")

    built = nightly()
    assert isinstance(built, DAG)
    assert built.dag_id == "nightly"
    assert built.params == {"rows": 10, "table": "events"}
    assert built.description == "Load the night's events."
    assert built.task_ids == ["only"]
    assert built.tasks[0].dag is built


def test_dag_decorator_bare_with_explicit_id_params_and_description() -> None:
    @dag
    def bare() -> None:
        empty("t")

    @dag("named", params={"rows": 5, "extra": True}, description="given")
    def named(rows: int = 10) -> None:
        """Docstring that must not replace the given description."""

    assert bare().dag_id == "bare"
    assert bare().description is None
    built = named()
    assert built.dag_id == "named"
    assert built.params == {"rows": 5, "extra": True}  # explicit params win over defaults
    assert built.description == "given"


# -- dependencies ----------------------------------------------------------------------------------


def test_shift_operators_with_tasks_and_lists() -> None:
    with DAG("d") as d:
        a, b, c, e, f = (empty(x) for x in "abcef")
        result = a >> [b, c] >> e
        f << e
    assert result is e
    assert edges(d) == {("a", "b"), ("a", "c"), ("b", "e"), ("c", "e"), ("e", "f")}
    assert a.downstream_task_ids == {"b", "c"}
    assert e.upstream_task_ids == {"b", "c"}
    assert f.upstream_task_ids == {"e"}


def test_reverse_shift_from_a_list() -> None:
    with DAG("d") as d:
        a, b, c = (empty(x) for x in "abc")
        [a, b] << c
    assert edges(d) == {("c", "a"), ("c", "b")}


def test_shift_operators_with_xcom_args() -> None:
    with DAG("d") as d:
        a, b, c = (empty(x) for x in "abc")
        arg = XComArg(b)
        assert (a >> arg) is arg
        assert (arg >> c) is c
        [a] >> XComArg(c)
        XComArg(c) << b
    assert edges(d) == {("a", "b"), ("b", "c"), ("a", "c")}


def test_chain_links_each_element_to_the_next() -> None:
    with DAG("d") as d:
        a, b, c, e, f = (empty(x) for x in "abcef")
        chain(a, b, [c, e], f)
    assert edges(d) == {("a", "b"), ("b", "c"), ("b", "e"), ("c", "f"), ("e", "f")}


def test_depending_on_a_string_is_a_clear_error() -> None:
    with DAG("d"):
        a = empty("a")
        with pytest.raises(DagDefinitionError, match="expected a task, not a string"):
            a >> "b"  # type: ignore[operator]


def test_duplicate_task_id_names_the_dag_and_the_task() -> None:
    with DAG("etl"):
        empty("load")
        with pytest.raises(DagDefinitionError) as err:
            BashOperator(task_id="load", bash_command="true")
    assert str(err.value) == (
        "DAG 'etl' already has a task 'load' (EmptyOperator); task ids must be unique within a DAG"
    )


def test_cycle_is_refused_at_definition_with_the_path_named() -> None:
    with DAG("d") as d:
        a, b, c = (empty(x) for x in "abc")
        a >> b >> c
        with pytest.raises(CycleError) as err:
            c >> a
    # The edge being added comes first, then the existing path that closes the loop.
    assert str(err.value) == "cycle in DAG 'd': c >> a >> b >> c"
    assert edges(d) == {("a", "b"), ("b", "c")}  # the refused edge was not half-added
    assert a.upstream_task_ids == set()


def test_cycle_through_a_longer_path_is_named_in_order() -> None:
    with DAG("d"):
        a, b, c, e = (empty(x) for x in "abce")
        a >> [b, c]
        c >> e
        with pytest.raises(CycleError, match=r"^cycle in DAG 'd': e >> a >> c >> e$"):
            e >> a


def test_self_dependency_is_a_cycle() -> None:
    with DAG("d"):
        a = empty("a")
        with pytest.raises(CycleError) as err:
            a >> a
    assert str(err.value) == "cycle in DAG 'd': a depends on itself"
    assert issubclass(CycleError, DagDefinitionError)


def test_linking_tasks_of_two_dags_is_refused() -> None:
    with DAG("one"):
        a = empty("a")
    with DAG("two"):
        b = empty("b")
    with pytest.raises(DagDefinitionError) as err:
        a >> b
    assert str(err.value) == "cannot link tasks of different DAGs: 'a' (one) >> 'b' (two)"
    assert a.downstream_task_ids == set()


def test_a_loose_task_linked_to_a_dag_task_joins_that_dag() -> None:
    with DAG("d") as d:
        a = empty("a")
    loose = empty("loose")
    a >> loose
    assert loose.dag is d
    assert d.task_ids == ["a", "loose"]


def test_linking_two_loose_tasks_is_refused() -> None:
    with pytest.raises(DagDefinitionError, match="neither task belongs to a DAG"):
        empty("x") >> empty("y")


def test_topological_order_puts_every_task_after_its_upstream() -> None:
    with DAG("d") as d:
        e, c, a, b = (empty(x) for x in "ecab")
        a >> b >> c >> e
        a >> e
    order = d.topological_order()
    assert order == ["a", "b", "c", "e"]


def test_topological_order_follows_definition_order_not_set_order() -> None:
    # The order feeds the serialized DAG and so the version hash: if it followed set
    # iteration (which varies with PYTHONHASHSEED), every parse in a new process could
    # make a new DAG version of an unchanged file.
    with DAG("d") as d:
        root = empty("root")
        fanned = [empty(f"t{i:02d}") for i in range(20)]
        join = empty("join")
        root >> fanned >> join
    assert d.topological_order() == ["root", *(f"t{i:02d}" for i in range(20)), "join"]


# -- default_args ----------------------------------------------------------------------------------


def test_default_args_fill_what_each_operator_accepts() -> None:
    defaults = {
        "retries": 3,
        "retry_delay": timedelta(seconds=7),
        "bash_command": "echo from-defaults",
        "op_kwargs": {"n": 1},
        "not_an_argument_anywhere": "ignored",
    }
    with DAG("d", default_args=defaults):
        bash = BashOperator(task_id="bash")
        py = PythonOperator(task_id="py", python_callable=lambda n: n)
        nothing = EmptyOperator(task_id="nothing")
    assert bash.retries == py.retries == nothing.retries == 3
    assert bash.retry_delay == timedelta(seconds=7)
    assert bash.bash_command == "echo from-defaults"
    assert py.op_kwargs == {"n": 1}
    # An argument an operator does not take is ignored, not passed on to fail.
    assert not hasattr(nothing, "bash_command")
    assert not hasattr(py, "bash_command")
    assert not hasattr(bash, "op_kwargs")


def test_explicit_arguments_win_over_default_args() -> None:
    with DAG("d", default_args={"retries": 3, "bash_command": "echo default", "queue": "slow"}):
        bash = BashOperator(task_id="bash", bash_command="echo mine", retries=0)
    assert bash.bash_command == "echo mine"
    assert bash.retries == 0
    assert bash.queue == "slow"


def test_default_args_of_the_explicit_dag_argument_are_used() -> None:
    target = DAG("target", default_args={"retries": 2})
    with DAG("open", default_args={"retries": 9}):
        t = EmptyOperator(task_id="t", dag=target)
    assert t.retries == 2


def test_operator_default_args_argument_overrides_the_dag_ones() -> None:
    with DAG("d", default_args={"retries": 2, "queue": "q1"}):
        t = EmptyOperator(task_id="t", default_args={"retries": 5})
    assert (t.retries, t.queue) == (5, "q1")


class NoInit(BaseOperator):
    """A subclass that relies on BaseOperator's own __init__."""

    def execute(self, context: dict[str, Any]) -> str:
        return "ran"


class WithInit(BashOperator):
    """A subclass with its own argument, passing the rest up."""

    def __init__(self, task_id: str, *, greeting: str = "hello", **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.greeting = greeting


class NoInitBelowWithInit(WithInit):
    pass


def test_subclass_without_its_own_init_still_gets_defaults() -> None:
    with DAG("d", default_args={"retries": 4, "priority_weight": 7}):
        t = NoInit(task_id="t")
    assert (t.retries, t.priority_weight) == (4, 7)


def test_subclass_arguments_anywhere_in_the_hierarchy_take_defaults() -> None:
    defaults = {"greeting": "hi", "bash_command": "echo x", "retries": 1}
    with DAG("d", default_args=defaults):
        direct = WithInit(task_id="direct")
        deeper = NoInitBelowWithInit(task_id="deeper", greeting="hey")
    assert (direct.greeting, direct.bash_command, direct.retries) == ("hi", "echo x", 1)
    assert (deeper.greeting, deeper.bash_command, deeper.retries) == ("hey", "echo x", 1)


def test_task_decorator_options_and_default_args_combine() -> None:
    @task(retries=1)
    def work() -> None: ...

    with DAG("d", default_args={"retries": 5, "queue": "etl"}) as d:
        work()
    t = d.get_task("work")
    assert (t.retries, t.queue) == (1, "etl")


def test_get_task_names_the_dag_when_missing() -> None:
    d = DAG("d")
    with pytest.raises(DagDefinitionError, match="DAG 'd' has no task 'nope'"):
        d.get_task("nope")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"retries": "two"}, "retries must be a whole number, got 'two'"),
        ({"retries": [1]}, "retries must be a whole number, got [1]"),
        ({"retry_delay": "5m"}, "retry_delay must be a timedelta or a number of seconds"),
        ({"trigger_rule": "sometimes"}, "unknown trigger_rule 'sometimes'; expected one of"),
    ],
)
def test_bad_task_arguments_name_the_task(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(DagDefinitionError) as err:
        EmptyOperator(task_id="t", **kwargs)
    assert "task 't'" in str(err.value)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("given", "read"),
    [(None, 0), (2, 2), ("3", 3), (2.0, 2), (True, 1), (-1, 0)],
)
def test_retries_are_read_as_airflow_reads_them(given: Any, read: int) -> None:
    """None is no retry (a DAG's ``default_args={"retries": None}`` loads on Airflow), other
    types go through ``int()``, and a negative number retries never, as on Airflow."""
    with DAG("d", default_args={"retries": given}) as d:
        EmptyOperator(task_id="t")
    assert d.get_task("t").retries == read


def test_retries_read_by_int_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="conveyor.model.task"):
        EmptyOperator(task_id="t", retries="3")
    assert "task 't': retries '3' read as 3" in caplog.text


def test_numbers_of_seconds_become_timedeltas() -> None:
    t = EmptyOperator(task_id="t", retry_delay=30, execution_timeout=1.5, max_retry_delay=600)
    assert t.retry_delay == timedelta(seconds=30)
    assert t.execution_timeout == timedelta(seconds=1.5)
    assert t.max_retry_delay == timedelta(minutes=10)
