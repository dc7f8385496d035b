"""The shipped operators and ``@task``: what user code receives and what a try's outcome is.

``execute`` is called directly with a hand-made context. Its ``ti`` is a tiny fake of our own
``TaskInstanceHandle`` interface (only ``xcom_pull_one``), so no store is involved; the
BashOperator runs real ``bash``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conveyor import (
    DAG,
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    Skip,
    task,
)
from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.model.branch_value import branch_choice
from conveyor.model.xcom_arg import RETURN_VALUE, XComArg


class FakeTi:
    """Stands in for ``context["ti"]``: serves XComs from a dict, records what was pulled."""

    def __init__(self, xcoms: dict[tuple[str, str], Any] | None = None) -> None:
        self.xcoms = xcoms or {}
        self.pulled: list[tuple[str, str]] = []

    def xcom_pull_one(self, task_id: str, key: str = RETURN_VALUE) -> Any:
        self.pulled.append((task_id, key))
        return self.xcoms[(task_id, key)]


def make_context(ti: FakeTi | None = None) -> dict[str, Any]:
    return {
        "ti": ti or FakeTi(),
        "ds": "2024-03-01",
        "run_id": "manual__2024-03-01",
        "params": {"rows": 3},
        "try_number": 1,
    }


# -- PythonOperator --------------------------------------------------------------------------------


def test_callable_with_var_keyword_gets_the_whole_context() -> None:
    seen: dict[str, Any] = {}

    def everything(**context: Any) -> str:
        seen.update(context)
        return "done"

    op = PythonOperator(task_id="t", python_callable=everything)
    context = make_context()
    assert op.execute(context) == "done"
    assert set(seen) == {"ti", "ds", "run_id", "params", "try_number", "templates_dict"}
    assert seen["ti"] is context["ti"]
    assert seen["ds"] == "2024-03-01"


def test_callable_asking_by_name_gets_just_those_entries() -> None:
    calls: list[tuple[Any, ...]] = []

    def picky(ds: str, ti: FakeTi) -> None:
        calls.append((ds, ti))

    context = make_context()
    PythonOperator(task_id="t", python_callable=picky).execute(context)
    assert calls == [("2024-03-01", context["ti"])]


def test_op_args_and_op_kwargs_are_not_overridden_by_the_context() -> None:
    def f(first: str, run_id: str, params: dict[str, int], limit: int = 0) -> tuple[Any, ...]:
        return first, run_id, params, limit

    op = PythonOperator(
        task_id="t",
        python_callable=f,
        op_args=["positional"],
        op_kwargs={"run_id": "mine", "limit": 5},
    )
    assert op.execute(make_context()) == ("positional", "mine", {"rows": 3}, 5)


def _first_param_named(name: str) -> Any:
    """f(<name>, **rest): a function whose first parameter is ``name``."""
    namespace: dict[str, Any] = {}
    exec(f"def f({name}, **rest): return {name}", namespace)
    return namespace["f"]


@pytest.mark.parametrize("reserved", ["ds", "run_id", "limit"])  # context names, an op_kwarg
def test_a_positional_argument_for_a_reserved_name_fails_the_try(reserved: str) -> None:
    # As Airflow when the call starts: these names are the context's (or the kwargs').
    f = _first_param_named(reserved)
    op = PythonOperator(task_id="t", python_callable=f, op_args=["x"], op_kwargs={"limit": 1})
    with pytest.raises(TaskError) as err:
        op.execute(make_context())
    assert isinstance(err.value, ValueError)  # the class Airflow raises, for except ValueError
    assert str(err.value) == (
        f"task 't': parameter {reserved!r} of f() is given by position, but {reserved!r} is a "
        "task context name, reserved for the context: rename the parameter, or pass the value "
        f"by keyword (f({reserved}=...)), which replaces the context's value"
    )


def test_a_keyword_only_parameter_is_not_refused() -> None:
    # Two arguments reach as far as run_id, which no argument by position can fill.
    def f(*values: Any, run_id: str = "") -> tuple[Any, ...]:
        return values

    op = PythonOperator(task_id="t", python_callable=f, op_args=["a", "b"])
    assert op.execute(make_context()) == ("a", "b")


def test_a_task_decorated_call_with_a_context_name_by_position_fails_by_keyword_passes() -> None:
    with DAG("d"):

        @task
        def look(run_id: str) -> str:
            return run_id

        by_position, by_keyword = look("given"), look(run_id="given")
    with pytest.raises(TaskError, match="parameter 'run_id' of look"):
        by_position.operator.execute(make_context())
    assert by_keyword.operator.execute(make_context()) == "given"


def test_op_kwargs_win_over_the_context_for_a_var_keyword_callable() -> None:
    def f(first: str, **context: Any) -> tuple[str, str, str]:
        return first, context["ds"], context["run_id"]

    op = PythonOperator(
        task_id="t", python_callable=f, op_args=["a"], op_kwargs={"ds": "2000-01-01"}
    )
    assert op.execute(make_context()) == ("a", "2000-01-01", "manual__2024-03-01")


def test_callable_taking_nothing_is_called_with_nothing() -> None:
    op = PythonOperator(task_id="t", python_callable=lambda: 42)
    assert op.execute(make_context()) == 42


def test_xcom_args_in_op_args_and_op_kwargs_add_edges_and_are_pulled() -> None:
    with DAG("d") as d:
        up = EmptyOperator(task_id="up")
        other = EmptyOperator(task_id="other")
        op = PythonOperator(
            task_id="t",
            python_callable=lambda rows, cfg: (rows, cfg),
            op_args=[XComArg(up)],
            op_kwargs={"cfg": {"n": XComArg(other)["count"]}},
        )
    assert op.upstream_task_ids == {"up", "other"}
    assert d.get_task("up").downstream_task_ids == {"t"}
    ti = FakeTi({("up", RETURN_VALUE): [1, 2], ("other", "count"): 7})
    assert op.execute(make_context(ti)) == ([1, 2], {"n": 7})
    assert sorted(ti.pulled) == [("other", "count"), ("up", RETURN_VALUE)]


def test_python_callable_must_be_callable() -> None:
    with pytest.raises(DagDefinitionError, match="task 't': python_callable must be callable"):
        PythonOperator(task_id="t", python_callable="not a function")  # type: ignore[arg-type]


# -- BashOperator ----------------------------------------------------------------------------------


def run_bash(capfd: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[Any, str]:
    op = BashOperator(task_id="sh", **kwargs)
    result = op.execute(make_context())
    return result, capfd.readouterr().out


def test_bash_output_is_printed_and_the_last_non_empty_line_returned(
    capfd: pytest.CaptureFixture[str],
) -> None:
    result, out = run_bash(capfd, bash_command="echo one; echo two >&2; echo; echo")
    assert result == "two"  # stderr is merged; blank lines do not count
    assert out.splitlines() == ["one", "two", "", ""]


def test_bash_without_output_returns_an_empty_string(capfd: pytest.CaptureFixture[str]) -> None:
    result, out = run_bash(capfd, bash_command="true")
    assert result == ""  # as Airflow's: the last line of no output
    assert out == ""


def test_bash_non_zero_exit_raises_task_error_naming_the_status(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(TaskError, match=r"^bash command exited with status 3$"):
        run_bash(capfd, bash_command="echo before; exit 3")
    assert "before" in capfd.readouterr().out


def test_bash_exit_99_skips(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Skip, match="bash exited with 99"):
        run_bash(capfd, bash_command="exit 99")


def test_bash_skip_exit_code_is_configurable(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Skip):
        run_bash(capfd, bash_command="exit 42", skip_on_exit_code=42)
    with pytest.raises(TaskError, match="status 99"):
        run_bash(capfd, bash_command="exit 99", skip_on_exit_code=None)


def test_bash_skip_exit_code_may_name_several(capfd: pytest.CaptureFixture[str]) -> None:
    for code in (3, 4):
        with pytest.raises(Skip, match=f"bash exited with {code}"):
            run_bash(capfd, bash_command=f"exit {code}", skip_on_exit_code=[3, 4])
    with pytest.raises(TaskError, match="status 99"):  # a list replaces the default 99
        run_bash(capfd, bash_command="exit 99", skip_on_exit_code=[3, 4])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # As Airflow's: env alone is the whole environment (append_env defaults to false).
        pytest.param({}, "hi missing", id="env_replaces_the_process_environment"),
        pytest.param({"append_env": True}, "hi outer", id="append_env_adds_it_there"),
    ],
)
def test_bash_env(
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, bool],
    expected: str,
) -> None:
    monkeypatch.setenv("CONVEYOR_TEST_OUTER", "outer")
    result, _ = run_bash(
        capfd,
        bash_command='echo "$GREETING ${CONVEYOR_TEST_OUTER:-missing}"',
        env={"GREETING": "hi"},
        **options,
    )
    assert result == expected


def test_bash_runs_in_cwd(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("x")
    result, _ = run_bash(capfd, bash_command="pwd -P; ls", cwd=str(tmp_path))
    assert result == "marker.txt"
    pwd, _ = run_bash(capfd, bash_command="pwd -P", cwd=str(tmp_path))
    assert pwd == os.path.realpath(tmp_path)


def test_bash_cwd_that_is_not_a_directory_is_a_task_error(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(TaskError, match=r"cwd '.*nope' of task 'sh' is not a directory"):
        run_bash(capfd, bash_command="true", cwd=missing)


# -- EmptyOperator and BranchPythonOperator --------------------------------------------------------


def test_empty_operator_does_nothing() -> None:
    assert EmptyOperator(task_id="e").execute(make_context()) is None


def branch_dag(choice: Any) -> BranchPythonOperator:
    with DAG("d"):
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: choice)
        pick >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
        EmptyOperator(task_id="far") << EmptyOperator(task_id="left_next") << pick
    return pick


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("left", ["left"]), (["left", "right"], ["left", "right"]), (None, []), ((), [])],
)
def test_branch_returns_what_its_callable_returned_and_chooses_from_it(
    choice: Any, expected: list[str]
) -> None:
    pick = branch_dag(choice)
    returned = pick.execute(make_context())
    assert returned == choice  # kept as its XCom as returned, as Airflow keeps it
    assert branch_choice(pick, returned) == expected


def test_branch_may_choose_a_task_further_down() -> None:
    # As in Airflow: any task of the DAG; the direct downstream tasks leading elsewhere are
    # skipped (planning.branch_skips), the chosen one runs by its trigger rule.
    pick = branch_dag(["left", "far"])
    assert branch_choice(pick, pick.execute(make_context())) == ["left", "far"]


def test_branch_choosing_a_task_that_is_not_in_the_dag_is_a_task_error() -> None:
    pick = branch_dag(["left", "nowhere"])
    with pytest.raises(TaskError) as err:
        branch_choice(pick, pick.execute(make_context()))
    assert str(err.value) == (
        "branch task 'pick' chose ['nowhere'], which are not tasks of its DAG "
        "(its direct downstream tasks: ['left', 'left_next', 'right'])"
    )


# -- @task -----------------------------------------------------------------------------------------


@task
def extract() -> list[int]:
    return [1, 2, 3]


@task(retries=2, queue="heavy")
def total(rows: list[int], scale: int = 1) -> int:
    return sum(rows) * scale


def test_task_call_returns_an_xcom_arg_and_links_arguments() -> None:
    with DAG("d") as d:
        rows = extract()
        result = total(rows, scale=10)
    assert isinstance(rows, XComArg)
    assert isinstance(result, XComArg)
    assert result.operator is d.get_task("total")
    assert d.get_task("total").upstream_task_ids == {"extract"}
    assert (result.operator.retries, result.operator.queue) == (2, "heavy")
    ti = FakeTi({("extract", RETURN_VALUE): [1, 2, 3]})
    assert result.operator.execute(make_context(ti)) == 60


def test_task_keyword_xcom_args_link_too() -> None:
    with DAG("d") as d:
        total(rows=extract())
    assert d.get_task("total").upstream_task_ids == {"extract"}


def test_repeated_use_gets_unique_ids() -> None:
    with DAG("d") as d:
        first, second, third = extract(), extract(), extract()
    assert d.task_ids == ["extract", "extract__1", "extract__2"]
    assert [a.operator.task_id for a in (first, second, third)] == d.task_ids


def test_override_sets_the_task_id_and_options() -> None:
    with DAG("d") as d:
        extract.override(task_id="extract_eu", retries=4)()
        extract()
    assert d.task_ids == ["extract_eu", "extract"]
    assert d.get_task("extract_eu").retries == 4
    assert d.get_task("extract").retries == 0  # the original is unchanged


def test_task_called_outside_a_dag_is_an_error() -> None:
    with pytest.raises(DagDefinitionError) as err:
        extract()
    assert "@task 'extract' was called outside a DAG" in str(err.value)


def test_task_with_explicit_dag_option_works_outside_with() -> None:
    target = DAG("target")
    extract.override(dag=target)()
    extract.override(dag=target)()  # unique ids are counted in that DAG, not the open one
    assert target.task_ids == ["extract", "extract__1"]


def test_task_decorated_function_asking_for_context_gets_it() -> None:
    @task
    def stamp(prefix: str, ds: str) -> str:
        return f"{prefix}{ds}"

    with DAG("d"):
        arg = stamp("day=")
    assert arg.operator.execute(make_context()) == "day=2024-03-01"


def test_task_branch_makes_a_branch_operator() -> None:
    @task.branch
    def choose() -> str:
        return "b"

    with DAG("d"):
        chooser = choose()
        chooser >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    assert isinstance(chooser.operator, BranchPythonOperator)
    assert chooser.operator.execute(make_context()) == "b"  # as returned: its XCom
