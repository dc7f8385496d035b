"""A layered (Sugiyama-style) drawing of a DAG, left to right, computed once per DAG version.

The steps, each a function below:

1. layering: every task gets a column, the longest path from a source, so every edge points
   right; then sources move right next to their first downstream task (no long lead-in edges);
2. edges that span several columns are cut into one-column pieces through dummy points, so
   they can bend around the tasks in between;
3. crossing reduction: the order within each column is swept left to right and back,
   sorting each column by the barycenter (mean position) of its neighbours in the column
   just fixed; the order with the fewest crossings wins;
4. wrapping: a column far taller than the graph is wide (a fan-out of hundreds) is cut into
   several columns side by side, so a big graph fills a wide screen instead of one column
   thousands of pixels tall. The parts stand close together inside one frame (a "fan"), and
   a task joined to every task of the frame gets one edge to (or from) the frame rather than
   one per task, so tasks that run in parallel read as parallel, not as a chain of columns;
5. coordinates: columns are placed side by side; within a column, each node wants to sit at
   the mean height of its neighbours, and the nearest heights that keep the order and the
   minimum gap are found exactly (isotonic regression, pool-adjacent-violators).

The page draws the result as SVG and only recolours nodes as states change, so the picture
does not jump while a run progresses.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from itertools import pairwise
from typing import Any

NODE_HEIGHT = 38.0
ROW_GAP = 14.0  # vertical gap between two nodes of a column
DUMMY_GAP = 8.0  # an edge passing through a column keeps this from its neighbours
COLUMN_GAP = 56.0  # horizontal room for the edges between two columns
MARGIN = 16.0
CHAR_WIDTH = 7.2  # average width of a character of the node label at 12.5px
MIN_NODE_WIDTH = 90.0
MAX_NODE_WIDTH = 260.0
SWEEPS = 12
WRAP_MIN_ROWS = 20  # a column of up to this many tasks is never wrapped
WRAP_ASPECT = 1.6  # wrap until the picture is about this much wider than tall
FAN_GAP = 14.0  # horizontal gap between the parts of a wrapped column, inside its frame
FAN_PAD = 8.0  # room between a fan's frame and its tasks
FAN_HEADER = 16.0  # room for the fan's label above its tasks
POSITION_ROUNDS = 8


def _fields_of(placed: Any) -> dict[str, Any]:
    """A placed shape as the page reads it: each field of the dataclass by its name, in order."""
    return {f.name: getattr(placed, f.name) for f in fields(placed)}


class LayoutError(ValueError):
    """The graph cannot be laid out in layers (it has a cycle or an unknown node)."""


@dataclass
class PlacedNode:
    id: str
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float
    label: str
    sublabel: str
    kind: str = "task"  # or "group": a collapsed task group standing for its tasks
    members: list[str] = field(default_factory=list)  # a collapsed group's task ids

    def as_dict(self) -> dict[str, Any]:
        return _fields_of(self)


@dataclass
class PlacedEdge:
    source: str
    target: str
    points: list[tuple[float, float]]  # from the source's right side to the target's left side
    fan: str | None = None  # drawn as the fan's one edge: to (or from) its frame, not the task

    def as_dict(self) -> dict[str, Any]:
        drawn: dict[str, Any] = {
            "source": self.source,
            "target": self.target,
            "points": [[round(x, 1), round(y, 1)] for x, y in self.points],
        }
        if self.fan is not None:
            drawn["fan"] = self.fan
        return drawn


@dataclass
class PlacedFan:
    """A wrapped column: a frame around tasks that stand side by side in rows."""

    id: str
    tasks: int
    x: float
    y: float
    width: float
    height: float

    def as_dict(self) -> dict[str, Any]:
        return _fields_of(self)


@dataclass
class PlacedGroup:
    """An expanded task group: a box around its tasks, with its label on top."""

    id: str
    label: str
    tooltip: str
    depth: int  # 0 for a group at the top level
    x: float
    y: float
    width: float
    height: float

    def as_dict(self) -> dict[str, Any]:
        return _fields_of(self)


@dataclass
class Layout:
    width: float
    height: float
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    crossings: int = 0
    groups: list[PlacedGroup] = field(default_factory=list)  # boxes of expanded task groups
    fans: list[PlacedFan] = field(default_factory=list)  # frames of wrapped columns

    def as_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "crossings": self.crossings,
            "nodes": [n.as_dict() for n in self.nodes],
            "edges": [e.as_dict() for e in self.edges],
            "groups": [g.as_dict() for g in self.groups],
            "fans": [f.as_dict() for f in self.fans],
        }


@dataclass
class _Graph:
    """The graph with dummy vertices: vertex ids are ints; real ones come first."""

    names: list[str]
    layer: list[int]
    up: list[list[int]] = field(default_factory=list)  # neighbours in the previous layer
    down: list[list[int]] = field(default_factory=list)  # neighbours in the next layer
    chains: list[tuple[int, int, list[int]]] = field(default_factory=list)  # edge -> dummies

    def add_vertex(self, layer: int) -> int:
        self.layer.append(layer)
        self.up.append([])
        self.down.append([])
        return len(self.layer) - 1

    def is_dummy(self, v: int) -> bool:
        return v >= len(self.names)


def assign_layers(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Column of each node: longest path from a source, sources pulled next to their targets."""
    index = {name: i for i, name in enumerate(nodes)}
    preds: list[list[int]] = [[] for _ in nodes]
    succs: list[list[int]] = [[] for _ in nodes]
    for source, target in edges:
        for end in (source, target):
            if end not in index:
                raise LayoutError(f"edge {source} -> {target}: unknown task {end!r}")
        preds[index[target]].append(index[source])
        succs[index[source]].append(index[target])
    order = _topological(nodes, preds, succs)
    layer = [0] * len(nodes)
    for v in order:
        layer[v] = max((layer[p] + 1 for p in preds[v]), default=0)
    # A source feeding only a late task would otherwise sit in column 0 with a long edge.
    for v in reversed(order):
        if not preds[v] and succs[v]:
            layer[v] = min(layer[s] for s in succs[v]) - 1
    return {nodes[i]: layer[i] for i in range(len(nodes))}


def _topological(nodes: Sequence[str], preds: list[list[int]], succs: list[list[int]]) -> list[int]:
    remaining = [len(p) for p in preds]
    ready = [v for v in range(len(nodes)) if remaining[v] == 0]
    order: list[int] = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for s in succs[v]:
            remaining[s] -= 1
            if remaining[s] == 0:
                ready.append(s)
    if len(order) != len(nodes):
        stuck = sorted(nodes[v] for v in range(len(nodes)) if remaining[v] > 0)
        raise LayoutError(f"the graph has a cycle through: {', '.join(stuck)}")
    return order


def _build(
    nodes: Sequence[str], edges: Sequence[tuple[str, str]], layers: dict[str, int]
) -> _Graph:
    graph = _Graph(names=list(nodes), layer=[layers[n] for n in nodes])
    graph.up = [[] for _ in nodes]
    graph.down = [[] for _ in nodes]
    index = {name: i for i, name in enumerate(nodes)}
    for source, target in edges:
        u, v = index[source], index[target]
        dummies = []
        previous = u
        for column in range(graph.layer[u] + 1, graph.layer[v]):
            d = graph.add_vertex(column)
            dummies.append(d)
            graph.down[previous].append(d)
            graph.up[d].append(previous)
            previous = d
        graph.down[previous].append(v)
        graph.up[v].append(previous)
        graph.chains.append((u, v, dummies))
    return graph


def _initial_order(graph: _Graph) -> list[list[int]]:
    """Columns in first-seen order of a depth-first walk, which keeps chains together."""
    columns: list[list[int]] = [[] for _ in range(max(graph.layer, default=-1) + 1)]
    seen: set[int] = set()

    def visit(v: int) -> None:
        stack = [v]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            columns[graph.layer[current]].append(current)
            stack.extend(reversed(graph.down[current]))

    for v in range(len(graph.names)):
        if not graph.up[v]:
            visit(v)
    for v in range(len(graph.layer)):
        visit(v)
    return columns


def count_crossings(columns: list[list[int]], down: list[list[int]]) -> int:
    """Edge crossings between every pair of adjacent columns."""
    total = 0
    for left, right in pairwise(columns):
        position = {v: i for i, v in enumerate(right)}
        ends = sorted(
            (i, position[w]) for i, v in enumerate(left) for w in down[v] if w in position
        )
        seen: list[int] = []
        for _, j in ends:
            # Edges already seen start above this one; those ending below it cross it.
            total += len(seen) - bisect_right(seen, j)
            insort(seen, j)
    return total


def _barycenter_sort(column: list[int], fixed: list[int], neighbours: list[list[int]]) -> list[int]:
    position = {v: i for i, v in enumerate(fixed)}

    def key(item: tuple[int, int]) -> tuple[float, int]:
        i, v = item
        ranks = [position[n] for n in neighbours[v] if n in position]
        # A vertex without neighbours there keeps its place.
        return (sum(ranks) / len(ranks) if ranks else float(i), i)

    return [v for _, v in sorted(enumerate(column), key=key)]


def reduce_crossings(graph: _Graph, columns: list[list[int]]) -> tuple[list[list[int]], int]:
    """Barycenter sweeps, down and up; the best order seen and its crossing count."""
    best = [list(c) for c in columns]
    best_count = count_crossings(best, graph.down)
    current = [list(c) for c in columns]
    for sweep in range(SWEEPS):
        if best_count == 0:
            break
        if sweep % 2 == 0:
            for i in range(1, len(current)):
                current[i] = _barycenter_sort(current[i], current[i - 1], graph.up)
        else:
            for i in range(len(current) - 2, -1, -1):
                current[i] = _barycenter_sort(current[i], current[i + 1], graph.down)
        count = count_crossings(current, graph.down)
        if count < best_count:
            best, best_count = [list(c) for c in current], count
    return best, best_count


def _fit_ordered(wanted: list[float], gaps: list[float]) -> list[float]:
    """Heights closest (least squares) to ``wanted`` with ``y[i+1] - y[i] >= gaps[i]``.

    With ``z[i] = y[i] - offset[i]`` the constraint is ``z`` non-decreasing, which the
    pool-adjacent-violators algorithm solves exactly.
    """
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [mean, weight]
    for want, offset in zip(wanted, offsets, strict=True):
        blocks.append([want - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight = blocks.pop()
            previous = blocks[-1]
            total = previous[1] + weight
            previous[0] = (previous[0] * previous[1] + mean * weight) / total
            previous[1] = total
    z: list[float] = []
    for mean, weight in blocks:
        z.extend([mean] * int(weight))
    return [value + offset for value, offset in zip(z, offsets, strict=True)]


def _vertical_positions(graph: _Graph, columns: list[list[int]]) -> list[float]:
    def size(v: int) -> float:
        return 0.0 if graph.is_dummy(v) else NODE_HEIGHT

    def gap(a: int, b: int) -> float:
        if graph.is_dummy(a) or graph.is_dummy(b):
            return (size(a) + size(b)) / 2 + DUMMY_GAP
        return NODE_HEIGHT + ROW_GAP

    y = [0.0] * len(graph.layer)  # centre heights
    for column in columns:
        position = 0.0
        for i, v in enumerate(column):
            if i:
                position += gap(column[i - 1], v)
            y[v] = position
    for round_ in range(POSITION_ROUNDS):
        sequence = columns if round_ % 2 == 0 else list(reversed(columns))
        for column in sequence:
            wanted = []
            for v in column:
                near = [y[n] for n in graph.up[v] + graph.down[v]]
                wanted.append(sum(near) / len(near) if near else y[v])
            gaps = [gap(a, b) for a, b in pairwise(column)]
            for v, value in zip(column, _fit_ordered(wanted, gaps), strict=True):
                y[v] = value
    top = min((y[v] - size(v) / 2 for v in range(len(y))), default=0.0)
    return [value - top + MARGIN for value in y]


def _rows_per_column(sizes: list[tuple[int, float]]) -> int | None:
    """How many tasks a column may hold so the picture is about WRAP_ASPECT times as wide as
    tall; None when no column needs wrapping. ``sizes``: (tasks, width) of each column."""
    tallest = max((n for n, _ in sizes), default=0)
    for rows in range(WRAP_MIN_ROWS, tallest):
        # A cut column's parts stand FAN_GAP apart, inside one frame.
        wide = sum(-(-n // rows) * (width + FAN_GAP) - FAN_GAP + COLUMN_GAP for n, width in sizes)
        if wide <= WRAP_ASPECT * rows * (NODE_HEIGHT + ROW_GAP):
            return rows
    return None


def wrap_columns(
    graph: _Graph, columns: list[list[int]], widths: dict[str, float]
) -> tuple[list[list[int]], list[list[int]]]:
    """Cut each column of more than the chosen number of tasks into columns side by side
    (the crossing order kept, top to bottom then left to right); every vertex's layer
    becomes its new column's index, which is what the coordinates are computed from.
    Also the wrapped columns' parts: the new indexes of each column that was cut."""
    sizes = [
        (
            sum(1 for v in column if not graph.is_dummy(v)),
            max((widths[graph.names[v]] for v in column if not graph.is_dummy(v)), default=0.0),
        )
        for column in columns
    ]
    rows = _rows_per_column(sizes)
    if rows is None:
        return columns, []
    wrapped: list[list[int]] = []
    blocks: list[list[int]] = []
    for column, (tasks, _) in zip(columns, sizes, strict=True):
        if tasks <= rows:
            wrapped.append(column)
            continue
        parts = -(-tasks // rows)
        per_part = -(-len(column) // parts)  # dummies travel with their neighbours
        first = len(wrapped)
        wrapped.extend(column[i : i + per_part] for i in range(0, len(column), per_part))
        blocks.append(list(range(first, len(wrapped))))
    for index, column in enumerate(wrapped):
        for v in column:
            graph.layer[v] = index
    return wrapped, blocks


def node_width(label: str, sublabel: str = "") -> float:
    """Room for the label and, in smaller type, the operator's name under it."""
    text = max(CHAR_WIDTH * len(label), 0.85 * CHAR_WIDTH * len(sublabel))
    return max(MIN_NODE_WIDTH, min(MAX_NODE_WIDTH, 24 + text))


def layout_dag(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    sublabels: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Layout:
    """Lay out ``nodes`` (task ids) joined by ``edges`` (upstream, downstream), left to right;
    ``labels``: what a node shows instead of its id (a task's ``task_display_name``)."""
    labels = labels or {}
    if len(set(nodes)) != len(nodes):
        raise LayoutError("task ids must be unique")
    rank = {name: i for i, name in enumerate(nodes)}
    edges = sorted(set(edges), key=lambda e: (rank.get(e[0], -1), rank.get(e[1], -1)))
    layers = assign_layers(nodes, edges)
    graph = _build(nodes, edges, layers)
    columns, crossings = reduce_crossings(graph, _initial_order(graph))
    widths = {
        name: node_width(labels.get(name, name), (sublabels or {}).get(name, "")) for name in nodes
    }
    columns, blocks = wrap_columns(graph, columns, widths)
    ys = _vertical_positions(graph, columns)
    column_width = [
        max((widths[graph.names[v]] for v in column if not graph.is_dummy(v)), default=0.0)
        for column in columns
    ]
    inside_fan = {index for block in blocks for index in block[:-1]}  # followed by a part
    column_x: list[float] = []
    x = MARGIN
    for index, width in enumerate(column_width):
        column_x.append(x)
        x += width + (FAN_GAP if index in inside_fan else COLUMN_GAP)
    placed: list[PlacedNode] = []
    for layer, column in enumerate(columns):
        for order, v in enumerate(column):
            if graph.is_dummy(v):
                continue
            name = graph.names[v]
            # Nodes are centred in their column so edges between columns stay straight.
            left = column_x[layer] + (column_width[layer] - widths[name]) / 2
            placed.append(
                PlacedNode(
                    id=name,
                    layer=layer,
                    order=order,
                    x=round(left, 1),
                    y=round(ys[v] - NODE_HEIGHT / 2, 1),
                    width=widths[name],
                    height=NODE_HEIGHT,
                    label=labels.get(name, name),
                    sublabel=(sublabels or {}).get(name, ""),
                )
            )
    by_id = {n.id: n for n in placed}
    fans = _fans(graph, columns, blocks, by_id)
    placed_edges = []
    for u, v, dummies in graph.chains:
        source, target = by_id[graph.names[u]], by_id[graph.names[v]]
        points = [(source.x + source.width, source.y + NODE_HEIGHT / 2)]
        for d in dummies:
            middle = column_x[graph.layer[d]] + column_width[graph.layer[d]] / 2
            points.append((middle, ys[d]))
        points.append((target.x, target.y + NODE_HEIGHT / 2))
        placed_edges.append(_through_fan(PlacedEdge(source.id, target.id, points), fans))
    width = x - COLUMN_GAP + MARGIN if columns else 2 * MARGIN
    height = max((n.y + n.height for n in placed), default=0.0) + MARGIN
    height = max(height, max((y + MARGIN for y in ys), default=0.0))
    placed.sort(key=lambda n: (n.layer, n.order))
    layout = Layout(round(width, 1), round(height, 1), placed, placed_edges, crossings)
    layout.fans = list({fan.id: fan for fan, _, _ in fans.values()}.values())
    return _below_fan_labels(layout)


# (frame, tasks joined to every member from upstream, and from downstream), by member id
_Fans = dict[str, tuple[PlacedFan, set[str], set[str]]]


def _fans(
    graph: _Graph, columns: list[list[int]], blocks: list[list[int]], by_id: dict[str, PlacedNode]
) -> _Fans:
    """A frame per wrapped column around its tasks, and the tasks joined to all of them."""
    found: _Fans = {}
    for block in blocks:
        members = [v for index in block for v in columns[index] if not graph.is_dummy(v)]
        nodes = [by_id[graph.names[v]] for v in members]
        left = min(n.x for n in nodes) - FAN_PAD
        top = min(n.y for n in nodes) - FAN_PAD - FAN_HEADER
        right = max(n.x + n.width for n in nodes) + FAN_PAD
        bottom = max(n.y + n.height for n in nodes) + FAN_PAD
        fan = PlacedFan(
            id=f"fan-{block[0]}",
            tasks=len(members),
            x=round(left, 1),
            y=round(top, 1),
            width=round(right - left, 1),
            height=round(bottom - top, 1),
        )
        above = _shared(graph, members, graph.up)
        below = _shared(graph, members, graph.down)
        for v in members:
            found[graph.names[v]] = (fan, above, below)
    return found


def _shared(graph: _Graph, members: list[int], near: list[list[int]]) -> set[str]:
    """The tasks (past any dummies) joined to every one of ``members`` through ``near``."""

    def ends(v: int) -> set[str]:
        found = set()
        for n in near[v]:
            while graph.is_dummy(n):
                n = near[n][0]
            found.add(graph.names[n])
        return found

    common = ends(members[0])
    for v in members[1:]:
        common &= ends(v)
    return common


def _through_fan(edge: PlacedEdge, fans: _Fans) -> PlacedEdge:
    """An edge between a fan's member and a task joined to every member: to (or from) the
    fan's frame, at half its height, so the fan's edges draw as one."""
    if edge.target in fans and edge.source in fans[edge.target][1]:
        fan = fans[edge.target][0]
        end = (fan.x, round(fan.y + fan.height / 2, 1))
        return PlacedEdge(edge.source, edge.target, [*edge.points[:-1], end], fan.id)
    if edge.source in fans and edge.target in fans[edge.source][2]:
        fan = fans[edge.source][0]
        start = (fan.x + fan.width, round(fan.y + fan.height / 2, 1))
        return PlacedEdge(edge.source, edge.target, [start, *edge.points[1:]], fan.id)
    return edge


def _below_fan_labels(layout: Layout) -> Layout:
    """Move everything down when a fan's label would stand above the picture."""
    dy = max(0.0, MARGIN - min((f.y for f in layout.fans), default=MARGIN))
    if dy:
        for placed in layout.nodes:
            placed.y = round(placed.y + dy, 1)
        for edge in layout.edges:
            edge.points = [(x, y + dy) for x, y in edge.points]
        for fan in layout.fans:
            fan.y = round(fan.y + dy, 1)
        layout.height = round(layout.height + dy, 1)
    bottom = max((f.y + f.height + MARGIN for f in layout.fans), default=0.0)
    layout.height = round(max(layout.height, bottom), 1)
    return layout


def layout_serialized(serialized: dict[str, Any]) -> Layout:
    """The layout of a serialized DAG (the ``tasks`` list that the store keeps per version)."""
    tasks = serialized.get("tasks", [])
    nodes = [t["task_id"] for t in tasks]
    edges = [(up, t["task_id"]) for t in tasks for up in t.get("upstream", [])]
    sublabels = {t["task_id"]: str(t.get("operator_name") or "") for t in tasks}
    return layout_dag(nodes, edges, sublabels, display_labels(tasks))


def display_labels(tasks: list[dict[str, Any]]) -> dict[str, str]:
    """The tasks with a ``task_display_name`` of their own, and that name."""
    return {
        t["task_id"]: str(t["task_display_name"])
        for t in tasks
        if t.get("task_display_name") and t["task_display_name"] != t["task_id"]
    }


# -- task groups: collapsed groups become one node, expanded ones a box ------------------------

GROUP_PAD = 10.0  # room between a group's box and what it holds
GROUP_HEADER = 16.0  # room for the group's label above its contents


class _GroupTree:
    """Which group holds each task and group, and how a task shows with some groups shut."""

    def __init__(self, groups: dict[str, dict[str, Any]], shut: set[str]) -> None:
        self.shut = shut
        self.parent_of: dict[str, str] = {}
        for group in groups.values():
            for member in (*group["tasks"], *group["groups"]):
                self.parent_of[member] = group["group_id"]

    def chain(self, item: str) -> list[str]:
        """The groups around ``item``, outermost first."""
        found: list[str] = []
        current = self.parent_of.get(item)
        while current is not None:
            found.append(current)
            current = self.parent_of.get(current)
        return found[::-1]

    def shown_as(self, task_id: str) -> str:
        """The task itself, or the outermost collapsed group around it."""
        return next((g for g in self.chain(task_id) if g in self.shut), task_id)


def layout_grouped(serialized: dict[str, Any], collapsed: Iterable[str] | None = None) -> Layout:
    """The layout of a serialized DAG with task groups: each group in ``collapsed`` (unless
    a group around it is collapsed too) is one node, its edges rerouted to it; each other
    group is a box around its members. ``None``: every group collapsed."""
    groups = {g["group_id"]: g for g in serialized.get("task_groups", [])}
    if not groups:
        return layout_serialized(serialized)
    tree = _GroupTree(groups, set(groups) if collapsed is None else set(collapsed) & set(groups))
    tasks = serialized.get("tasks", [])
    members: dict[str, list[str]] = {}  # visible node -> its tasks, in task order
    for t in tasks:
        members.setdefault(tree.shown_as(t["task_id"]), []).append(t["task_id"])
    edges = {
        (tree.shown_as(up), tree.shown_as(t["task_id"]))
        for t in tasks
        for up in t.get("upstream", [])
        if tree.shown_as(up) != tree.shown_as(t["task_id"])
    }
    sublabels = {t["task_id"]: str(t.get("operator_name") or "") for t in tasks}
    for node, inside in members.items():
        if node in groups:
            sublabels[node] = f"group · {len(inside)} task{'' if len(inside) == 1 else 's'}"
    layout = layout_dag(list(members), sorted(edges), sublabels, display_labels(tasks))
    for placed in layout.nodes:
        if placed.id in groups:
            placed.kind, placed.members = "group", members[placed.id]
            placed.label = groups[placed.id]["label"]
    return _shifted(layout, _group_boxes(layout, groups, tree))


def _group_boxes(
    layout: Layout, groups: dict[str, dict[str, Any]], tree: _GroupTree
) -> list[PlacedGroup]:
    """A box per expanded group around its visible members; inner boxes first, so an outer
    box grows around the inner ones."""
    inside: dict[str, list[PlacedNode]] = {}
    for placed in layout.nodes:
        for group_id in tree.chain(placed.id):
            if group_id not in tree.shut:
                inside.setdefault(group_id, []).append(placed)
    depth = {group_id: len(tree.chain(group_id)) for group_id in groups}
    boxes: dict[str, PlacedGroup] = {}
    for group_id in sorted(inside, key=lambda g: -depth[g]):
        parts = [(n.x, n.y, n.x + n.width, n.y + n.height) for n in inside[group_id]]
        parts += [
            (b.x, b.y, b.x + b.width, b.y + b.height)
            for other, b in boxes.items()
            if tree.chain(other)[-1:] == [group_id]
        ]
        left = min(p[0] for p in parts) - GROUP_PAD
        top = min(p[1] for p in parts) - GROUP_PAD - GROUP_HEADER
        right = max(p[2] for p in parts) + GROUP_PAD
        bottom = max(p[3] for p in parts) + GROUP_PAD
        boxes[group_id] = PlacedGroup(
            id=group_id,
            label=groups[group_id]["label"],
            tooltip=groups[group_id].get("tooltip") or "",
            depth=depth[group_id],
            x=round(left, 1),
            y=round(top, 1),
            width=round(right - left, 1),
            height=round(bottom - top, 1),
        )
    return sorted(boxes.values(), key=lambda b: (b.depth, b.id))  # outer boxes drawn first


def _shifted(layout: Layout, boxes: list[PlacedGroup]) -> Layout:
    """Move everything so the boxes fit in the picture too."""
    dx = max(0.0, MARGIN - min((b.x for b in boxes), default=MARGIN))
    dy = max(0.0, MARGIN - min((b.y for b in boxes), default=MARGIN))
    for placed in layout.nodes:
        placed.x, placed.y = round(placed.x + dx, 1), round(placed.y + dy, 1)
    for edge in layout.edges:
        edge.points = [(x + dx, y + dy) for x, y in edge.points]
    for box in boxes:
        box.x, box.y = round(box.x + dx, 1), round(box.y + dy, 1)
    for fan in layout.fans:
        fan.x, fan.y = round(fan.x + dx, 1), round(fan.y + dy, 1)
    right = max([layout.width + dx, *(b.x + b.width + MARGIN for b in boxes)])
    bottom = max([layout.height + dy, *(b.y + b.height + MARGIN for b in boxes)])
    layout.width, layout.height, layout.groups = round(right, 1), round(bottom, 1), boxes
    return layout
