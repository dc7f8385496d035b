"""The layered drawing of a DAG's graph in the web UI (``conveyor.web.ui.layout``)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.web.ui.layout import (
    COLUMN_GAP,
    NODE_HEIGHT,
    ROW_GAP,
    Layout,
    LayoutError,
    PlacedNode,
    _build,
    _fit_ordered,
    _initial_order,
    assign_layers,
    count_crossings,
    layout_dag,
    layout_serialized,
    reduce_crossings,
)


def nodes_by_id(layout: Layout) -> dict[str, PlacedNode]:
    return {n.id: n for n in layout.nodes}


def check_drawing(layout: Layout, nodes: list[str], edges: list[tuple[str, str]]) -> None:
    """What every drawing must satisfy, whatever the graph."""
    placed = {n.id: n for n in layout.nodes}
    assert sorted(placed) == sorted(nodes)
    for source, target in set(edges):
        assert placed[source].layer < placed[target].layer
        assert placed[source].x + placed[source].width < placed[target].x
    # No two nodes of a column overlap, and each column keeps its order top to bottom.
    for layer in {n.layer for n in layout.nodes}:
        column = sorted((n for n in layout.nodes if n.layer == layer), key=lambda n: n.order)
        for upper, lower in itertools.pairwise(column):
            assert lower.y - (upper.y + upper.height) >= ROW_GAP - 0.2
    for node in layout.nodes:
        assert node.x >= 0 and node.y >= 0
        assert node.x + node.width <= layout.width
        assert node.y + node.height <= layout.height
    # Every edge leaves its source's right side and enters its target's left side.
    assert len(layout.edges) == len(set(edges))
    for edge in layout.edges:
        source, target = placed[edge.source], placed[edge.target]
        assert edge.points[0] == (source.x + source.width, source.y + NODE_HEIGHT / 2)
        assert edge.points[-1] == (target.x, target.y + NODE_HEIGHT / 2)
        xs = [x for x, _ in edge.points]
        assert xs == sorted(xs)


def test_a_chain_gets_one_column_per_task_on_one_line() -> None:
    layout = layout_dag(["a", "b", "c"], [("a", "b"), ("b", "c")])
    placed = nodes_by_id(layout)
    assert [placed[t].layer for t in "abc"] == [0, 1, 2]
    assert len({placed[t].y for t in "abc"}) == 1
    assert layout.crossings == 0
    check_drawing(layout, ["a", "b", "c"], [("a", "b"), ("b", "c")])


def test_layers_follow_the_longest_path_and_long_edges_bend_through_dummies() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    layout = layout_dag(["a", "b", "c", "d"], edges)
    assert assign_layers(["a", "b", "c", "d"], edges) == {"a": 0, "b": 1, "c": 2, "d": 3}
    long_edge = next(e for e in layout.edges if (e.source, e.target) == ("a", "d"))
    assert len(long_edge.points) == 4  # two dummy points, in columns 1 and 2
    # The long edge passes beside b and c, not through them.
    placed = nodes_by_id(layout)
    for (_, y), task in zip(long_edge.points[1:3], "bc", strict=True):
        node = placed[task]
        assert not node.y <= y <= node.y + node.height
    check_drawing(layout, ["a", "b", "c", "d"], edges)


def test_a_source_sits_right_before_the_task_it_feeds() -> None:
    edges = [("a", "b"), ("b", "c"), ("late", "c")]
    layers = assign_layers(["a", "b", "c", "late"], edges)
    assert layers["late"] == layers["c"] - 1 == 1


def test_diamond_is_symmetric_around_its_ends() -> None:
    edges = [("start", "left"), ("start", "right"), ("left", "end"), ("right", "end")]
    layout = layout_dag(["start", "left", "right", "end"], edges)
    placed = nodes_by_id(layout)
    middle = (placed["left"].y + placed["right"].y) / 2
    assert placed["start"].y == pytest.approx(middle, abs=0.2)
    assert placed["end"].y == pytest.approx(middle, abs=0.2)
    assert layout.crossings == 0
    check_drawing(layout, ["start", "left", "right", "end"], edges)


def test_barycenter_sweeps_untangle_crossed_columns() -> None:
    nodes = ["a", "b", "c", "d", "e", "f"]
    edges = [("a", "f"), ("b", "e"), ("c", "d")]
    graph = _build(nodes, edges, assign_layers(nodes, edges))
    tangled = [[0, 1, 2], [3, 4, 5]]  # a b c over d e f: every pair of edges crosses
    assert count_crossings(tangled, graph.down) == 3
    untangled, crossings = reduce_crossings(graph, tangled)
    assert crossings == 0 == count_crossings(untangled, graph.down)


def test_crossings_of_a_complete_bipartite_pair_are_counted() -> None:
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]
    graph = _build(nodes, edges, assign_layers(nodes, edges))
    assert count_crossings([[0, 1], [2, 3]], graph.down) == 1  # K2,2 always crosses once
    assert layout_dag(nodes, edges).crossings == 1


def test_positions_are_the_closest_that_keep_order_and_gaps() -> None:
    assert _fit_ordered([0.0, 0.0, 0.0], [10.0, 10.0]) == [-10.0, 0.0, 10.0]
    assert _fit_ordered([0.0, 50.0], [10.0]) == [0.0, 50.0]  # already apart: unchanged
    assert _fit_ordered([10.0, 0.0], [10.0]) == [0.0, 10.0]  # swapped wishes: meet halfway


def test_a_cycle_or_an_unknown_task_is_refused_with_the_names() -> None:
    with pytest.raises(LayoutError, match="cycle through: a, b"):
        layout_dag(["a", "b", "c"], [("a", "b"), ("b", "a"), ("c", "a")])
    with pytest.raises(LayoutError, match="unknown task 'ghost'"):
        layout_dag(["a"], [("a", "ghost")])


def test_empty_and_single_task_dags() -> None:
    empty = layout_dag([], [])
    assert empty.nodes == [] and empty.edges == []
    single = layout_dag(["only"], [])
    assert single.nodes[0].layer == 0
    check_drawing(single, ["only"], [])


def test_serialized_dag_is_laid_out_with_operator_names() -> None:
    serialized = {
        "tasks": [
            {"task_id": "extract", "upstream": [], "operator_name": "PythonOperator"},
            {"task_id": "load", "upstream": ["extract"], "operator_name": "BashOperator"},
        ]
    }
    layout = layout_serialized(serialized)
    placed = nodes_by_id(layout)
    assert placed["load"].sublabel == "BashOperator"
    data = layout.as_dict()
    assert data["edges"] == [
        {"source": "extract", "target": "load", "points": data["edges"][0]["points"]}
    ]
    assert {n["id"] for n in data["nodes"]} == {"extract", "load"}


def test_the_same_dag_always_gets_the_same_drawing() -> None:
    nodes = [f"t{i}" for i in range(12)]
    edges = [(f"t{i}", f"t{j}") for i in range(12) for j in range(i + 1, 12) if (i * j) % 5 == 1]
    assert layout_dag(nodes, edges).as_dict() == layout_dag(nodes, edges).as_dict()


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """Random DAGs: edges only from a lower to a higher index, so never a cycle."""
    size = draw(st.integers(min_value=1, max_value=14))
    nodes = [f"task_{i}" for i in range(size)]
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=25)) if pairs else []
    order = draw(st.permutations(nodes))  # the order tasks are listed in must not matter
    return list(order), [(nodes[i], nodes[j]) for i, j in chosen]


@settings(max_examples=60, deadline=None)
@given(dags())
def test_any_dag_gets_a_valid_drawing_no_worse_than_its_first_order(
    dag: tuple[list[str], list[tuple[str, str]]],
) -> None:
    nodes, edges = dag
    layout = layout_dag(nodes, edges)
    check_drawing(layout, nodes, edges)
    # The reported crossings are those of the final orders, and sweeping never made it worse.
    rank = {name: i for i, name in enumerate(nodes)}  # the edge order layout_dag builds with
    ordered = sorted(set(edges), key=lambda e: (rank[e[0]], rank[e[1]]))
    graph = _build(nodes, ordered, assign_layers(nodes, ordered))
    first = count_crossings(_initial_order(graph), graph.down)
    assert layout.crossings <= first


def test_a_wide_fan_out_is_wrapped_into_columns_side_by_side() -> None:
    middle = [f"part_{i:03d}" for i in range(300)]
    nodes = ["start", *middle, "end"]
    edges = [("start", m) for m in middle] + [(m, "end") for m in middle]
    layout = layout_dag(nodes, edges)
    # One column would be 300 rows (15,600 px); wrapped, the picture is wider than tall.
    assert layout.width > layout.height
    assert layout.height < 2000
    placed = {n.id: n for n in layout.nodes}
    columns = {placed[m].x for m in middle}
    assert len(columns) > 5
    assert placed["start"].x < min(columns) and placed["end"].x > max(columns)
    # No two tasks overlap.
    boxes = sorted((n.x, n.y) for n in layout.nodes)
    assert len(set(boxes)) == len(boxes)
    # The parallel tasks stand in one frame, and the source and the sink each have one edge
    # to or from the frame (every dependency is still listed, all on that one path), so
    # they read as parallel rather than as a chain of columns.
    (fan,) = layout.fans
    assert fan.tasks == 300
    for m in middle:
        inside = placed[m]
        assert fan.x < inside.x and inside.x + inside.width < fan.x + fan.width
        assert fan.y < inside.y and inside.y + inside.height < fan.y + fan.height
    gaps = sorted({placed[m].x for m in middle})
    assert all(b - a < COLUMN_GAP + 260 for a, b in itertools.pairwise(gaps))
    assert len(layout.edges) == len(edges)
    start, end = placed["start"], placed["end"]
    middle_y = fan.y + fan.height / 2
    into = {tuple(e.points) for e in layout.edges if e.source == "start"}
    out = {tuple(e.points) for e in layout.edges if e.target == "end"}
    assert into == {((start.x + start.width, start.y + NODE_HEIGHT / 2), (fan.x, middle_y))}
    assert out == {((fan.x + fan.width, middle_y), (end.x, end.y + NODE_HEIGHT / 2))}
    assert {e.fan for e in layout.edges} == {fan.id}


def test_an_edge_to_only_some_tasks_of_a_fan_keeps_its_own_path() -> None:
    middle = [f"part_{i:03d}" for i in range(300)]
    nodes = ["start", *middle, "odd"]
    edges = [("start", m) for m in middle] + [("part_007", "odd")]
    layout = layout_dag(nodes, edges)
    placed = nodes_by_id(layout)
    (odd,) = [e for e in layout.edges if e.target == "odd"]
    assert odd.fan is None
    assert odd.points[0] == (
        placed["part_007"].x + placed["part_007"].width,
        placed["part_007"].y + NODE_HEIGHT / 2,
    )
    assert odd.points[-1] == (placed["odd"].x, placed["odd"].y + NODE_HEIGHT / 2)
    assert all(e.fan for e in layout.edges if e.source == "start")


def test_a_small_graph_is_not_wrapped() -> None:
    middle = [f"part_{i}" for i in range(15)]
    layout = layout_dag(["start", *middle], [("start", m) for m in middle])
    assert len({n.x for n in layout.nodes if n.id != "start"}) == 1
