"""Mapping a task group: ``@task_group`` functions expanded over lists.

    @task_group
    def per_file(path):
        rows = extract(path)          # one instance per file
        load(rows)                    # instance i loads what extract's instance i returned

    per_file.expand(path=["a.csv", "b.csv"])
    per_file.expand_kwargs([{"path": "a.csv"}, {"path": "b.csv"}])

The function runs once, with a :class:`MappedArg` standing for each expanded argument. A
``@task`` called inside with a MappedArg, or with the output of a task mapped this way,
becomes a mapped task whose lists are taken index by index ("zipped"): instance i of every
task of the group works on element i. Each task of the group waits for all instances of the
tasks it depends on (not only its own index), so one failed instance stops that task of the
group for every index (its trigger rule decides). Classic operators made inside the group
are not mapped: they run once.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.task import ExpandSource, MappedOperator
from conveyor.model.xcom_arg import XComArg


class MappedArg:
    """Stands, inside a mapped task group's function, for one element of an expanded list."""

    def __init__(self, name: str, source: ExpandSource) -> None:
        self.name = name
        self.source = source

    def __repr__(self) -> str:
        return f"MappedArg({self.name!r})"

    def __str__(self) -> str:
        raise DagDefinitionError(
            f"the mapped task group argument {self.name!r} has no value while the DAG is "
            "defined: pass it to a @task inside the group, which receives each element"
        )


def _is_group_mapped(value: Any) -> bool:
    return isinstance(value, MappedArg) or (
        isinstance(value, XComArg)
        and isinstance(value.operator, MappedOperator)
        and value.operator.zip_lists
    )


#: How many mapped groups' functions are running now (nested groups count each).
_building = [0]


@contextlib.contextmanager
def building_mapped_group() -> Iterator[None]:
    """While a mapped group's function runs, its @task calls may become mapped."""
    _building[0] += 1
    try:
        yield
    finally:
        _building[0] -= 1


def split_mapped(arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, ExpandSource]]:
    """``(constants, lists)`` of a @task call inside a mapped group; ``lists`` is empty when
    the call uses no mapped group argument (the task is then an ordinary one), and always
    outside a mapped group's function (a task after the group gets the list of results)."""
    if not _building[0]:
        return arguments, {}
    constants: dict[str, Any] = {}
    lists: dict[str, ExpandSource] = {}
    for name, value in arguments.items():
        if isinstance(value, MappedArg):
            lists[name] = value.source
        elif _is_group_mapped(value):
            lists[name] = value
        else:
            constants[name] = value
    return constants, lists


def group_arguments(group_id: str, lists: dict[str, Any]) -> dict[str, MappedArg]:
    """The MappedArg of each argument of ``group.expand(**lists)``. Several lists give the
    cross product, which must then be known now: literal lists, not upstream outputs."""
    for name, source in lists.items():
        if not isinstance(source, list | tuple | XComArg):
            raise DagDefinitionError(
                f"task group {group_id!r}: expand({name}=...) needs a list or the output of "
                f"an upstream task, got {type(source).__name__} {source!r}"
            )
    if len(lists) <= 1:
        return {name: MappedArg(name, source) for name, source in lists.items()}
    if any(isinstance(source, XComArg) for source in lists.values()):
        raise DagDefinitionError(
            f"task group {group_id!r}: expand() over several arguments takes literal lists; "
            "to map over an upstream task's output, expand one argument"
        )
    combos = list(itertools.product(*lists.values()))
    return {name: MappedArg(name, [combo[i] for combo in combos]) for i, name in enumerate(lists)}


def kwargs_arguments(group_id: str, items: Sequence[dict[str, Any]] | Any) -> dict[str, MappedArg]:
    """The MappedArg of each key of ``group.expand_kwargs([{...}, {...}])``."""
    if isinstance(items, XComArg) or not isinstance(items, list | tuple):
        raise DagDefinitionError(
            f"task group {group_id!r}: expand_kwargs() takes a literal list of dicts; to map "
            "over an upstream task's output, use expand(name=output)"
        )
    if not all(isinstance(item, dict) for item in items):
        raise DagDefinitionError(f"task group {group_id!r}: expand_kwargs() needs dicts only")
    keys = [sorted(item) for item in items]
    if keys and any(k != keys[0] for k in keys):
        raise DagDefinitionError(
            f"task group {group_id!r}: every dict of expand_kwargs() needs the same keys"
        )
    names = keys[0] if keys else []
    return {name: MappedArg(name, [item[name] for item in items]) for name in names}
