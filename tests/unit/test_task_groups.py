"""Task groups: ids, default_args, wiring with >>, nesting, serialization, the graph layout."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor import DAG, EmptyOperator, TaskGroup, task, task_group
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.serialized import SerializedDag
from conveyor.version_hashes import source_hash, version_hash
from conveyor.web.ui.layout import layout_grouped


def upstream(dag: DAG) -> dict[str, list[str]]:
    return {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}


def build_nested() -> DAG:
    with DAG("nested") as dag:
        start = EmptyOperator(task_id="start")
        with TaskGroup("etl", tooltip="extract and load", default_args={"retries": 3}) as etl:
            extract = EmptyOperator(task_id="extract")
            with TaskGroup("load", default_args={"queue": "db"}) as load:
                a = EmptyOperator(task_id="a")
                b = EmptyOperator(task_id="b", retries=1)
            extract >> load
        end = EmptyOperator(task_id="end")
        start >> etl >> end
        assert (a.task_id, b.task_id) == ("etl.load.a", "etl.load.b")
    return dag


def test_tasks_get_group_ids_and_the_groups_defaults() -> None:
    dag = build_nested()
    assert dag.task_ids == ["start", "etl.extract", "etl.load.a", "etl.load.b", "end"]
    tasks = dag.task_dict
    assert tasks["etl.extract"].retries == 3 and tasks["etl.extract"].queue == "default"
    assert (tasks["etl.load.a"].retries, tasks["etl.load.a"].queue) == (3, "db")  # nested merge
    assert tasks["etl.load.b"].retries == 1  # an argument given wins over every default
    assert tasks["start"].retries == 0  # outside the group: untouched
    assert list(dag.task_groups) == ["etl", "etl.load"]


def test_group_dependencies_wire_roots_and_leaves() -> None:
    dag = build_nested()
    assert upstream(dag) == {
        "start": [],
        "etl.extract": ["start"],  # start >> etl: upstream of the group's root only
        "etl.load.a": ["etl.extract"],  # extract >> load: of both roots of the inner group
        "etl.load.b": ["etl.extract"],
        "end": ["etl.load.a", "etl.load.b"],  # etl >> end: downstream of every leaf
    }


def test_lists_chains_and_left_shift_with_groups() -> None:
    with DAG("lists") as dag:
        first = EmptyOperator(task_id="first")
        with TaskGroup("g") as g:
            EmptyOperator(task_id="x") >> EmptyOperator(task_id="y")
        other = EmptyOperator(task_id="other")
        last = EmptyOperator(task_id="last")
        [first, other] >> g
        last << g
    assert upstream(dag)["g.x"] == ["first", "other"]
    assert upstream(dag)["g.y"] == ["g.x"]
    assert upstream(dag)["last"] == ["g.y"]


def test_task_group_decorator_names_and_repeats() -> None:
    with DAG("decorated") as dag:

        @task
        def source() -> int:
            return 1

        @task_group
        def clean(value: Any) -> None:
            """Clean one source."""

            @task
            def step(v: int) -> int:
                return v

            step(step(value))

        s = source()
        first = clean(s)
        second = clean(s)
        first >> second
    assert dag.task_ids == [
        "source",
        "clean.step",
        "clean.step__1",
        "clean__1.step",
        "clean__1.step__1",
    ]
    assert dag.task_groups["clean"].tooltip == "Clean one source."
    assert upstream(dag)["clean__1.step"] == ["clean.step__1", "source"]


def test_prefix_group_id_false_keeps_plain_ids() -> None:
    with DAG("plain") as dag, TaskGroup("g", prefix_group_id=False):
        EmptyOperator(task_id="t")
    assert dag.task_ids == ["t"]
    assert dag.task_groups["g"].children.keys() == {"t"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TaskGroup("outside"), "outside a DAG"),
        (lambda: TaskGroup("a.b", dag=DAG("x")), "invalid group_id 'a.b'"),
    ],
)
def test_bad_groups_are_refused_with_a_reason(make: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        make()


def test_a_group_id_used_twice_is_refused() -> None:
    with DAG("twice"), pytest.raises(DagDefinitionError, match="already has a task group 'g'"):
        with TaskGroup("g"):
            EmptyOperator(task_id="t")
        TaskGroup("g")


def test_an_empty_group_cannot_be_depended_on() -> None:
    with DAG("empty"), pytest.raises(DagDefinitionError, match="has no tasks"):
        EmptyOperator(task_id="t") >> TaskGroup("nothing")


def test_the_group_tree_is_serialized_and_read_back() -> None:
    data = serialize_dag(build_nested())
    assert data["task_groups"] == [
        {
            "group_id": "etl",
            "label": "etl",
            "parent": None,
            "tooltip": "extract and load",
            "tasks": ["etl.extract"],
            "groups": ["etl.load"],
        },
        {
            "group_id": "etl.load",
            "label": "load",
            "parent": "etl",
            "tooltip": "",
            "tasks": ["etl.load.a", "etl.load.b"],
            "groups": [],
        },
    ]
    assert SerializedDag.from_dict(data).task_groups == data["task_groups"]


def test_a_dag_without_groups_keeps_its_version_hash() -> None:
    def plain() -> dict[str, Any]:
        with DAG("same") as dag:
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        return serialize_dag(dag)

    data = plain()
    assert "task_groups" not in data and "pool" not in data["tasks"][0]
    assert version_hash(data, source_hash("x")) == version_hash(plain(), source_hash("x"))


# -- the graph: collapsed groups are nodes with rerouted edges, expanded ones are boxes -------


def test_collapsed_groups_become_one_node_with_rerouted_edges() -> None:
    layout = layout_grouped(serialize_dag(build_nested()))  # every group collapsed
    nodes = {n.id: n for n in layout.nodes}
    assert set(nodes) == {"start", "etl", "end"}
    assert nodes["etl"].kind == "group"
    assert nodes["etl"].members == ["etl.extract", "etl.load.a", "etl.load.b"]
    assert nodes["etl"].sublabel == "group · 3 tasks"
    assert {(e.source, e.target) for e in layout.edges} == {("start", "etl"), ("etl", "end")}
    assert layout.groups == []


def test_expanding_shows_members_inside_a_box_and_inner_groups_stay_collapsed() -> None:
    layout = layout_grouped(serialize_dag(build_nested()), collapsed=["etl.load"])
    nodes = {n.id: n for n in layout.nodes}
    assert set(nodes) == {"start", "etl.extract", "etl.load", "end"}
    assert {(e.source, e.target) for e in layout.edges} == {
        ("start", "etl.extract"),
        ("etl.extract", "etl.load"),
        ("etl.load", "end"),
    }
    [box] = layout.groups
    assert box.id == "etl" and box.label == "etl" and box.tooltip == "extract and load"
    for member in (nodes["etl.extract"], nodes["etl.load"]):
        assert box.x < member.x and member.x + member.width < box.x + box.width
        assert box.y < member.y and member.y + member.height < box.y + box.height
    for outside in (nodes["start"], nodes["end"]):
        assert not (box.x < outside.x < box.x + box.width)


def test_fully_expanded_nests_boxes() -> None:
    layout = layout_grouped(serialize_dag(build_nested()), collapsed=[])
    assert {n.id for n in layout.nodes} == {
        "start",
        "etl.extract",
        "etl.load.a",
        "etl.load.b",
        "end",
    }
    outer, inner = layout.groups
    assert (outer.id, inner.id) == ("etl", "etl.load")
    assert outer.x < inner.x and inner.x + inner.width < outer.x + outer.width
    assert outer.y < inner.y and inner.y + inner.height < outer.y + outer.height
    assert min(b.y for b in layout.groups) >= 0 and layout.height >= outer.y + outer.height


# -- YAML: pools are task options; groups are Python only ---------------------------------------


def test_yaml_tasks_take_a_pool_and_export_round_trips_it() -> None:
    from conveyor.loading.yaml.export import export_dag
    from conveyor.loading.yaml.loader import load_yaml_text

    text = (
        "dags:\n"
        "  pooled:\n"
        "    default_args: {pool: warehouse}\n"
        "    tasks:\n"
        "      a: {operator: empty}\n"
        "      b: {operator: empty, pool: api, pool_slots: 2}\n"
    )
    (dag,) = load_yaml_text(text, "dags/pooled.yaml", environ={})
    tasks = serialize_dag(dag)["tasks"]
    assert [(t["pool"], t.get("pool_slots", 1)) for t in tasks] == [("warehouse", 1), ("api", 2)]
    (again,) = load_yaml_text(export_dag(dag, "yaml"), "dags/again.yaml", environ={})
    assert serialize_dag(again)["tasks"] == tasks


def test_exporting_a_grouped_dag_to_yaml_is_refused_with_the_reason() -> None:
    from conveyor.loading.yaml.errors import ExportError
    from conveyor.loading.yaml.export import export_dag

    with pytest.raises(ExportError, match="cannot express task groups"):
        export_dag(build_nested(), "yaml")
