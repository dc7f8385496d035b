"""``manual.related_tasks``: which tasks a clear with upstream/downstream selects."""

from __future__ import annotations

import json

import pytest

from conveyor import DAG, EmptyOperator
from conveyor.engine.manual import related_tasks
from conveyor.loading.serialize import serialize_dag
from conveyor.serialized import SerializedDag


@pytest.fixture(scope="module")
def diamond() -> SerializedDag:
    """a -> (b, c) -> d -> e, and x on its own."""
    with DAG("diamond") as d:
        a, b, c, dd, e = (EmptyOperator(task_id=t) for t in ("a", "b", "c", "d", "e"))
        EmptyOperator(task_id="x")
        a >> [b, c]
        [b, c] >> dd
        dd >> e
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


@pytest.mark.parametrize(
    ("chosen", "upstream", "downstream", "expected"),
    [
        (["b"], False, False, ["b"]),
        (["b"], False, True, ["b", "d", "e"]),
        (["d"], True, False, ["a", "b", "c", "d"]),
        (["b"], True, True, ["a", "b", "d", "e"]),  # c is neither above nor below b
        (["e", "x"], True, False, ["a", "b", "c", "d", "e", "x"]),
        (["c", "b"], False, False, ["b", "c"]),  # the DAG's order, not the order given
    ],
)
def test_selection_follows_the_edges_in_the_dags_order(
    diamond: SerializedDag,
    chosen: list[str],
    upstream: bool,
    downstream: bool,
    expected: list[str],
) -> None:
    assert related_tasks(diamond, chosen, upstream=upstream, downstream=downstream) == expected
