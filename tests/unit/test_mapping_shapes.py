"""``XComArg.map()``, ``XComArg.zip()`` and ``expand_kwargs``: the graph they make, what the
scheduler reads for the number of instances, and what each instance is built with."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conveyor import DAG, BashOperator, task, task_group
from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.mapping import expansion_length, unmap
from conveyor.model.xcom_arg import XComArg, resolve_xcom_args
from conveyor.serialized import SerializedDag

PULLED = {("letters", "return_value"): ["a", "b", "c"], ("numbers", "return_value"): [1, 2]}


def pull(task_id: str, key: str) -> Any:
    return PULLED[(task_id, key)]


def expand_spec(d: DAG, task_id: str) -> dict[str, Any]:
    raw = SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d)))).tasks[task_id].raw
    spec: dict[str, Any] = raw["mapped"]
    return spec


def shapes_dag(calls: list[str]) -> DAG:
    with DAG("shapes") as d:

        @task
        def letters() -> list[str]:
            return ["a", "b", "c"]

        @task
        def numbers() -> list[int]:
            return [1, 2]

        @task
        def show(value: Any) -> str:
            return repr(value)

        def upper(letter: str) -> str:
            calls.append(letter)
            return letter.upper()

        left, right = letters(), numbers()
        show.override(task_id="mapped").expand(value=left.map(upper).map(lambda s: s + "!"))
        show.override(task_id="zipped").expand(value=left.zip(right))
        show.override(task_id="filled").expand(value=left.zip(right, fillvalue=0))
        show.override(task_id="joined").expand(value=left.concat(right))
        show.override(task_id="whole")(value=left.map(upper))
        show.override(task_id="by_kwargs").expand_kwargs([{"value": 1}, {"value": right}])
        BashOperator.partial(task_id="bash").expand_kwargs(
            left.map(lambda s: {"bash_command": f"echo {s}", "env": {"L": s}})
        )
    return d


def test_map_zip_and_expand_kwargs_depend_on_every_task_they_read() -> None:
    d = shapes_dag([])
    upstream = {t.task_id: t.upstream_task_ids for t in d.tasks}
    assert upstream["mapped"] == {"letters"}
    assert upstream["zipped"] == upstream["filled"] == upstream["joined"] == {"letters", "numbers"}
    assert upstream["whole"] == {"letters"}
    assert upstream["by_kwargs"] == {"numbers"}
    assert upstream["bash"] == {"letters"}


def test_the_scheduler_counts_a_map_its_list_a_zip_the_shortest_or_longest_a_concat_all() -> None:
    d = shapes_dag([])
    lengths = {
        task_id: expansion_length(
            expand_spec(d, task_id)["expand"], lambda t, k: pull(t, k), zipped=False
        )
        for task_id in ("mapped", "zipped", "filled", "joined", "by_kwargs", "bash")
    }
    assert lengths == {
        "mapped": 3,
        "zipped": 2,
        "filled": 3,
        "joined": 5,
        "by_kwargs": 2,
        "bash": 3,
    }


def test_an_instance_computes_only_the_element_it_reads() -> None:
    calls: list[str] = []
    d = shapes_dag(calls)
    instance = unmap(d.get_task("mapped"), 1, pull)
    assert instance.op_kwargs == {"value": "B!"}  # type: ignore[attr-defined]
    assert calls == ["b"]
    assert unmap(d.get_task("zipped"), 1, pull).op_kwargs == {"value": ("b", 2)}  # type: ignore[attr-defined]
    assert unmap(d.get_task("filled"), 2, pull).op_kwargs == {"value": ("c", 0)}  # type: ignore[attr-defined]
    assert unmap(d.get_task("joined"), 3, pull).op_kwargs == {"value": 1}  # type: ignore[attr-defined]


def test_a_mapped_value_passed_whole_is_the_list_it_makes() -> None:
    d = shapes_dag([])
    whole = d.get_task("whole")
    assert resolve_xcom_args(whole.op_kwargs, pull) == {"value": ["A", "B", "C"]}  # type: ignore[attr-defined]


def test_expand_kwargs_gives_each_instance_its_dict_of_arguments() -> None:
    d = shapes_dag([])
    second = unmap(d.get_task("by_kwargs"), 1, pull)
    assert second.op_kwargs == {"value": [1, 2]}  # type: ignore[attr-defined]
    bash = unmap(d.get_task("bash"), 2, pull)
    assert isinstance(bash, BashOperator)
    assert (bash.bash_command, bash.env) == ("echo c", {"L": "c"})


def test_expand_kwargs_refuses_what_is_not_a_dict_where_it_is_found() -> None:
    with DAG("bad") as d:
        with pytest.raises(DagDefinitionError, match="expand_kwargs\\(\\) needs dicts"):
            BashOperator.partial(task_id="b").expand_kwargs(["echo a"])
        with pytest.raises(DagDefinitionError, match="needs a list of dicts or the output"):
            BashOperator.partial(task_id="c").expand_kwargs("echo a")  # type: ignore[arg-type]

        @task
        def letters() -> list[str]:
            return ["a"]

        BashOperator.partial(task_id="d").expand_kwargs(letters())
    with pytest.raises(TaskError, match="map index 0: expand_kwargs\\(\\) needs a dict"):
        unmap(d.get_task("d"), 0, pull)


def test_map_and_zip_refuse_what_airflow_refuses() -> None:
    with DAG("bad"):

        @task
        def rows() -> dict[str, int]:
            return {"n": 1}

        @task
        def one(x: int) -> int:
            return x

        output = rows()
        with pytest.raises(DagDefinitionError, match="only a task's return value"):
            output["n"].map(str)
        with pytest.raises(DagDefinitionError, match="not the @task"):
            output.map(one)
        with pytest.raises(DagDefinitionError, match="zip\\(\\) takes the outputs of tasks"):
            output.zip([1, 2])  # type: ignore[list-item]
    assert isinstance(output, XComArg)


def test_a_dict_counts_its_keys_in_map_zip_and_concat_but_not_in_a_plain_expand() -> None:
    def value_of(task_id: str, key: str) -> Any:
        return {"k1": 1, "k2": 2} if task_id == "d" else ["a"]

    joined = {"concat": [{"xcom": ["l", "return_value"]}, {"xcom": ["d", "return_value"]}]}
    assert expansion_length({"x": joined}, value_of) == 3
    assert expansion_length({"x": {"map": {"xcom": ["d", "return_value"]}}}, value_of) == 2
    plain = expansion_length({"x": {"xcom": ["d", "return_value"]}}, value_of)
    assert isinstance(plain, str) and "is dict, not a list" in plain


def test_every_task_made_in_a_mapped_task_group_is_mapped_over_the_group() -> None:
    """Over literal lists (a cross product) and over an upstream output: a classic operator
    given nothing of the group is as many instances as the group; one given the group's
    argument, even inside a container, gets its instance's element."""
    with DAG("groups") as d:

        @task
        def letters() -> list[str]:
            return ["a", "b", "c"]

        @task_group
        def pairs(x: Any, y: Any) -> None:
            BashOperator(task_id="plain", bash_command="echo hi")
            BashOperator(task_id="nested", bash_command="echo $X", env={"X": x, "Y": [y, "k"]})

        @task_group
        def per_letter(letter: Any) -> None:
            BashOperator(task_id="given", bash_command=letter, env={"L": letter})

        pairs.expand(x=[1, 2], y=["p", "q"])
        per_letter.expand(letter=letters())

    assert expansion_length(expand_spec(d, "pairs.plain")["expand"], pull, zipped=True) == 4
    third = unmap(d.get_task("pairs.nested"), 2, pull)
    assert isinstance(third, BashOperator)
    assert (third.bash_command, third.env) == ("echo $X", {"X": 2, "Y": ["p", "k"]})
    assert expansion_length(expand_spec(d, "per_letter.given")["expand"], pull, zipped=True) == 3
    given = unmap(d.get_task("per_letter.given"), 1, pull)
    assert (given.bash_command, given.env) == ("b", {"L": "b"})  # type: ignore[attr-defined]
    assert "letters" in d.get_task("per_letter.given").upstream_task_ids


def group_chain_dag() -> DAG:
    """A mapped group of three: check -> after (given check's output) -> last (given
    after's inside a container), and a task after the group that gets every ``after``."""
    with DAG("group_chain") as d:

        @task
        def check(x: int) -> int:
            return x

        @task
        def after(y: int) -> int:
            return y

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        @task_group
        def each(x: Any) -> Any:
            done = after(check(x))
            BashOperator(task_id="last", bash_command="echo $V", env={"V": [done, "k"]})
            return done

        total(each.expand(x=[1, 2, 3]))
    return d


def test_the_tasks_of_a_mapped_group_share_one_key_and_name_their_group_upstream() -> None:
    d = group_chain_dag()
    specs = {tid: expand_spec(d, tid) for tid in ("each.check", "each.after", "each.last")}
    assert {spec["group"] for spec in specs.values()} == {"each.check"}
    sd = SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))
    assert sd.group_upstream == {"each.after": ("each.check",), "each.last": ("each.after",)}
    assert "mapped" not in sd.tasks["total"].raw  # after the group: one task, every value


def test_a_group_task_reads_its_group_upstream_at_its_own_index_only() -> None:
    """Instance 2 of ``after`` gets what ``check``'s instance 2 returned, though instance 1
    failed and left no value (the list of values would be one short)."""
    d = group_chain_dag()
    stored = {0: 10, 2: 30}
    asked: list[int] = []

    def pull_at(task_id: str, key: str, map_index: int) -> Any:
        assert (task_id, key) == ("each.check", "return_value")
        asked.append(map_index)
        return stored.get(map_index)

    def whole(task_id: str, key: str) -> Any:
        raise AssertionError(f"{task_id} is read whole")

    third = unmap(d.get_task("each.after"), 2, whole, pull_at)
    assert third.op_kwargs == {"y": 30}  # type: ignore[attr-defined]
    assert asked == [2]


def test_a_group_task_output_inside_a_container_is_that_instance_s_value() -> None:
    d = group_chain_dag()

    def pull_at(task_id: str, key: str, map_index: int) -> Any:
        assert task_id == "each.after"
        return {0: "zero", 2: "two"}.get(map_index)

    def whole(task_id: str, key: str) -> Any:
        raise AssertionError(f"{task_id} is read whole")

    last = unmap(d.get_task("each.last"), 2, whole, pull_at)
    assert last.env == {"V": ["two", "k"]}  # type: ignore[attr-defined]
