"""Mapping a task group: ``@task_group`` functions expanded over lists.

    @task_group
    def per_file(path):
        rows = extract(path)          # one instance per file
        load(rows)                    # instance i loads what extract's instance i returned

    per_file.expand(path=["a.csv", "b.csv"])
    per_file.expand_kwargs([{"path": "a.csv"}, {"path": "b.csv"}])

The function runs once, with a :class:`MappedArg` standing for each expanded argument. Every
task made inside becomes a mapped task over the group, as in Airflow: a ``@task`` called with
a MappedArg, or with the output of a task mapped this way, takes its lists index by index
("zipped"), so instance i of every task of the group works on element i; a classic operator
(``BashOperator(task_id=..., bash_command=...)``) is mapped the same way, a MappedArg or such
an output given to it being that instance's element; a task that takes none of them is as
many instances as the group's list is long. Instance i of a task of the group waits for
instance i of the group's tasks upstream of it, not for their other instances (a failed
element stops its own index, the others run on), and reads their output at index i, as in
Airflow; a task upstream outside the group counts with all its instances. The group's tasks
share one key, ``MappedOperator.mapped_group``, which tells the scheduler so.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.task import (
    GROUP_INDEX_INPUT,
    GROUP_MAPPERS,
    BaseOperator,
    ExpandSource,
    MappedOperator,
    _mapped_operator,
)
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


@contextlib.contextmanager
def building_mapped_group(length: ExpandSource) -> Iterator[None]:
    """While a mapped group's function runs, the tasks made in it become mapped; ``length``
    is the list the group expands over (as long as each of its arguments' lists)."""

    def map_operator(operator_class: type[BaseOperator], kwargs: dict[str, Any]) -> BaseOperator:
        constants, lists = split_mapped(kwargs)
        for name, value in list(constants.items()):
            inside = _mapped_args_in(value)
            if inside:  # env={"P": path}: that argument becomes one value per instance
                lists[name] = _per_instance(constants.pop(name), inside)
        mapped = _mapped_operator(
            operator_class, constants, lists or {GROUP_INDEX_INPUT: length}, None
        )
        mapped.zip_lists = True
        made.append(mapped)
        return mapped

    made: list[MappedOperator] = []
    GROUP_MAPPERS.append(map_operator)
    _MADE.append(made)
    try:
        yield
    finally:
        GROUP_MAPPERS.pop()
        _MADE.pop()
    # One key for the group's tasks (a group mapped inside this one kept its own).
    for operator in made:
        if operator.mapped_group is None:
            operator.mapped_group = made[0].task_id


#: The tasks made so far by each open mapped group's function (innermost last).
_MADE: list[list[MappedOperator]] = []


def made_in_group(operator: MappedOperator) -> None:
    """A @task the open mapped group mapped through its arguments (not through
    ``BaseOperator.__new__``): one of the group's tasks too."""
    if _MADE:
        _MADE[-1].append(operator)


def _mapped_args_in(value: Any) -> list[Any]:
    """The group's values inside ``value``'s dicts, lists and tuples (not ``value`` itself):
    MappedArgs, and outputs of the group's tasks."""
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return []
    found: list[Any] = []
    for item in items:
        found.extend([item] if _is_group_mapped(item) else _mapped_args_in(item))
    return found


def _with_elements(value: Any, elements: dict[int, Any]) -> Any:
    """``value`` with each group value inside replaced by its element (``elements`` by id)."""
    if id(value) in elements:
        return elements[id(value)]
    if isinstance(value, dict):
        return {key: _with_elements(item, elements) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_with_elements(item, elements) for item in value)
    return value


def _per_instance(value: Any, inside: list[Any]) -> ExpandSource:
    """The list of ``value`` as each instance of the group sees it: its group values
    replaced by that instance's elements (literal lists), or, over one output (an upstream
    task's, or a task's of the group), that output mapped to such values as each instance
    reads it."""
    if all(isinstance(arg, MappedArg) and isinstance(arg.source, list | tuple) for arg in inside):
        count = len(inside[0].source)
        return [
            _with_elements(value, {id(arg): arg.source[i] for arg in inside}) for i in range(count)
        ]
    distinct = list({id(arg): arg for arg in inside}.values())
    if len(distinct) > 1:
        raise DagDefinitionError(
            f"a mapped task group's values inside one argument ({value!r}) are either its "
            "literal lists or one task's output: give the others as arguments of their own"
        )
    (arg,) = distinct
    source = arg.source if isinstance(arg, MappedArg) else arg
    assert isinstance(source, XComArg)
    return source.map(functools.partial(_element_into, value, arg))


def _element_into(value: Any, arg: Any, element: Any) -> Any:
    return _with_elements(value, {id(arg): element})


def split_mapped(arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, ExpandSource]]:
    """``(constants, lists)`` of a @task call inside a mapped group; ``lists`` is empty when
    the call uses no mapped group argument (the task is then an ordinary one), and always
    outside a mapped group's function (a task after the group gets the list of results)."""
    if not GROUP_MAPPERS:  # no mapped group's function is running
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
