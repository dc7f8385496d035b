"""``chain`` and ``chain_linear``: the graph each shape makes, as Airflow draws it."""

from __future__ import annotations

import pytest

from conveyor import DAG, EmptyOperator, Label, TaskGroup, chain, chain_linear
from conveyor.exceptions import DagDefinitionError


def edges(d: DAG) -> set[tuple[str, str]]:
    return {(up, t.task_id) for t in d.tasks for up in t.upstream_task_ids}


def tasks(ids: str) -> list[EmptyOperator]:
    return [EmptyOperator(task_id=x) for x in ids]


def test_chain_pairs_two_lists_in_a_row_one_to_one() -> None:
    with DAG("d") as d:
        a, b, c, e, f, g = tasks("abcefg")
        chain(a, [b, c], [e, f], g)
    assert edges(d) == {("a", "b"), ("a", "c"), ("b", "e"), ("c", "f"), ("e", "g"), ("f", "g")}


def test_chain_refuses_lists_of_different_lengths() -> None:
    with DAG("d"):
        a, b, c, e, f, g = tasks("abcefg")
        with pytest.raises(DagDefinitionError, match="cannot pair a list of 2 with a list of 3"):
            chain(a, [b, c], [e, f, g])


def test_chain_links_a_list_to_a_group_and_a_group_to_a_list() -> None:
    with DAG("d") as d:
        a, b = tasks("ab")
        with TaskGroup("g") as g:
            inner = EmptyOperator(task_id="inner")
        c, e = tasks("ce")
        chain([a, b], g, [c, e])
    assert edges(d) == {("a", "g.inner"), ("b", "g.inner"), ("g.inner", "c"), ("g.inner", "e")}
    assert inner.task_id == "g.inner"


def test_chain_pairs_labels_with_the_tasks_after_them() -> None:
    with DAG("d") as d:
        a, b, c, e = tasks("abce")
        chain(a, [Label("one"), Label("two")], [b, c], e)
    assert edges(d) == {("a", "b"), ("a", "c"), ("b", "e"), ("c", "e")}
    assert d.edge_labels == {"b": {"a": "one"}, "c": {"a": "two"}}


def test_chain_links_the_tasks_before_a_list_of_labels_to_the_task_after_it() -> None:
    """``chain([a, b], [Label, Label], c)``: each label links its task to ``c``, as in
    Airflow (the labels knew their tasks before ``c`` was written)."""
    with DAG("d") as d:
        a, b, c = tasks("abc")
        chain([a, b], [Label("after a"), Label("after b")], c)
    assert edges(d) == {("a", "c"), ("b", "c")}
    assert d.edge_labels == {"c": {"a": "after a", "b": "after b"}}


def test_chain_linear_links_every_task_to_every_task_of_the_next_element() -> None:
    with DAG("d") as d:
        a, b, c, e, f, g, h = tasks("abcefgh")
        chain_linear(a, [b, c], [e, f, g], h)
    assert edges(d) == {
        ("a", "b"),
        ("a", "c"),
        *((up, down) for up in "bc" for down in "efg"),
        ("e", "h"),
        ("f", "h"),
        ("g", "h"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "was given no tasks"),
        (("one list",), "set no dependency"),
        (("label",), "does not take a Label"),
    ],
)
def test_chain_linear_refuses_what_links_nothing(args: tuple[str, ...], message: str) -> None:
    with DAG("d"):
        a, b = tasks("ab")
        given = {"one list": [[a, b]], "label": [a, Label("x"), b]}
        with pytest.raises(DagDefinitionError, match=message):
            chain_linear(*(given[args[0]] if args else []))


def test_a_dag_on_either_side_of_a_shift_makes_the_task_join_it() -> None:
    """Airflow 1.10's ``dag >> task`` (a team's 1.10 folder writes it after each task made
    with ``dag=dag``): the task joins the DAG, or stays in it, and no edge is made."""
    d = DAG("d")
    a = EmptyOperator(task_id="a", dag=d)
    b, c, e = tasks("bce")  # of no DAG yet
    assert (d >> a) is a
    d >> b
    c << d
    e >> d
    assert sorted(t.task_id for t in d.tasks) == ["a", "b", "c", "e"]
    assert edges(d) == set()
    a >> b
    assert edges(d) == {("a", "b")}


def test_a_task_of_another_dag_cannot_join_by_a_shift() -> None:
    other = DAG("other")
    a = EmptyOperator(task_id="a", dag=other)
    with pytest.raises(DagDefinitionError, match="task 'a' belongs to DAG 'other'"):
        DAG("d") >> a
