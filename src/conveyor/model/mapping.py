"""Dynamic task mapping: one task, expanded at run time into an instance per list element.

    PythonOperator.partial(task_id="square", python_callable=f).expand(op_args=[[1], [2]])
    BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])
    add.partial(y=10).expand(x=numbers())      # @task: numbers' return value, a list
    add.expand(x=numbers().map(str))           # each element through a function first
    pair.expand(x=left().zip(right()))         # tuples of the elements at each index
    add.expand(x=left().concat(right()))       # one list after the other
    copy.expand_kwargs([{"src": "a", "dst": "b"}, ...])  # a dict of arguments per instance

A mapped task is one node of the DAG (a :class:`MappedOperator`). When its upstream allows it
to run, the scheduler reads the length of each list (an upstream XCom, or the literal's length
serialized with the DAG) and makes one task instance per element, numbered by ``map_index``;
several expanded arguments make the cross product. The worker then builds the real operator
of one instance with :func:`unmap`. The mapped task itself (``MappedOperator``, what
``partial`` returns) is defined with ``BaseOperator`` in conveyor.model.task; this module is
what the scheduler and the worker do with it. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conveyor.exceptions import TaskError
from conveyor.model.task import GROUP_INDEX_INPUT, KWARGS_INPUT, BaseOperator, MappedOperator
from conveyor.model.xcom_arg import (
    RETURN_VALUE,
    ConcatXComArg,
    LazyValues,
    MapXComArg,
    XComArg,
    ZipXComArg,
    resolve_xcom_args,
)


def instance_indexes(map_index: int, lengths: list[int]) -> list[int]:
    """The element index in each list for one instance: itertools.product's order."""
    indexes = []
    for length in reversed(lengths):
        indexes.append(map_index % length)
        map_index //= length
    return indexes[::-1]


def unmap(
    task: BaseOperator,
    map_index: int,
    pull: Callable[[str, str], Any],
    pull_at: Callable[[str, str, int], Any] | None = None,
) -> BaseOperator:
    """The real operator of one instance of a mapped task (any other task comes back as is).

    ``pull(task_id, key)`` reads an upstream XCom (a list of results for a mapped upstream);
    ``pull_at(task_id, key, map_index)`` one instance's, which a task of a mapped task group
    reads of the group's other tasks (index i from instance i, whichever instances failed).
    """
    if not isinstance(task, MappedOperator):
        return task
    reads = pull
    if pull_at is not None and task.mapped_group is not None:
        reads = _group_pull(task, map_index, pull, pull_at)
    lists = {name: _elements(source, reads) for name, source in task.expand_input.items()}
    if task.zip_lists:
        indexes = [map_index] * len(lists)
    else:
        indexes = instance_indexes(map_index, [len(values) for values in lists.values()])
    chosen = {name: values[i] for (name, values), i in zip(lists.items(), indexes, strict=True)}
    chosen.pop(GROUP_INDEX_INPUT, None)  # the group's length, no argument of the operator
    if task.kwargs_mapped:
        chosen = _instance_kwargs(task, map_index, chosen[KWARGS_INPUT], pull)
    kwargs = resolve_xcom_args(dict(task.partial_kwargs), pull)
    if task.expand_into:
        kwargs[task.expand_into] = {**kwargs.get(task.expand_into, {}), **chosen}
    else:
        kwargs.update(chosen)
    # task_id by keyword: an operator of its own may take other arguments first (Airflow style)
    concrete = task.operator_class(task_id=task.task_id, **kwargs)
    concrete.dag = task.dag
    concrete.upstream_task_ids = set(task.upstream_task_ids)
    concrete.downstream_task_ids = set(task.downstream_task_ids)
    return concrete


def _group_pull(
    task: MappedOperator,
    map_index: int,
    pull: Callable[[str, str], Any],
    pull_at: Callable[[str, str, int], Any],
) -> Callable[[str, str], Any]:
    """``pull``, but the output of a task of ``task``'s own mapped group is the value of its
    instance ``map_index`` (in a list read at that index only)."""
    group = task.mapped_group
    tasks = task.dag.task_dict if task.dag is not None else {}

    def read(task_id: str, key: str) -> Any:
        upstream = tasks.get(task_id)
        if not isinstance(upstream, MappedOperator) or upstream.mapped_group != group:
            return pull(task_id, key)
        value = pull_at(task_id, key, map_index)
        if value is None and key != RETURN_VALUE:  # result["key"] of a returned dict
            returned = pull_at(task_id, RETURN_VALUE, map_index)
            if isinstance(returned, dict):
                value = returned.get(key)
        return _AtIndex(map_index, value, task_id)

    return read


class _AtIndex(LazyValues):
    """A group task's output as one instance of the group reads it: its own index only."""

    def __init__(self, index: int, value: Any, task_id: str) -> None:
        self._index = index
        self._value = value
        self._task_id = task_id

    def _element(self, index: int) -> Any:
        if index != self._index:
            raise TaskError(
                f"instance {self._index} of a mapped task group reads {self._task_id!r} at "
                f"its own index, not at {index}"
            )
        return self._value

    def __len__(self) -> int:
        return self._index + 1


def _elements(source: Any, pull: Callable[[str, str], Any]) -> Any:
    """A list to expand over; a mapped one computes only the element its instance reads."""
    if isinstance(source, XComArg):
        value = source.resolve(pull)
        if isinstance(value, LazyValues):
            return value
        return list(value)
    return list(resolve_xcom_args(source, pull))


def _instance_kwargs(
    task: MappedOperator, map_index: int, item: Any, pull: Callable[[str, str], Any]
) -> dict[str, Any]:
    """One element of ``expand_kwargs``' list: the instance's arguments, by name."""
    item = resolve_xcom_args(item, pull)
    if not isinstance(item, dict) or not all(isinstance(key, str) for key in item):
        raise TaskError(
            f"task {task.task_id!r}, map index {map_index}: expand_kwargs() needs a dict of "
            f"arguments by name for each instance, got {type(item).__name__} {item!r}"
        )
    return item


def _serialize_source(source: Any) -> dict[str, Any]:
    """How the scheduler finds a list's length: a literal's, an XCom's, or several XComs'."""
    if isinstance(source, ZipXComArg):
        return {"zip": [_serialize_source(arg) for arg in source.args], "fill": source.filled}
    if isinstance(source, ConcatXComArg):
        return {"concat": [_serialize_source(arg) for arg in source.args]}
    if isinstance(source, MapXComArg):  # as long as what it maps
        return {"map": _serialize_source(source.arg)}
    if isinstance(source, XComArg):
        return {"xcom": [source.operator.task_id, source.key]}
    return {"length": len(source)}


def serialize_expand_input(task: BaseOperator) -> dict[str, Any]:
    """What the scheduler needs to expand a mapped task: each list's length or its XCom."""
    if not isinstance(task, MappedOperator):
        return {}
    sources = {name: _serialize_source(source) for name, source in task.expand_input.items()}
    if task.mapped_group is not None:
        return {"mapped": {"expand": sources, "zip": True, "group": task.mapped_group}}
    if task.zip_lists:
        return {"mapped": {"expand": sources, "zip": True}}
    return {"mapped": {"expand": sources}}


def expansion_length(
    sources: Mapping[str, Any], value_of: Callable[[str, str], Any], *, zipped: bool = False
) -> int | str:
    """How many instances a mapped task gets, or why it cannot be expanded (a message).

    ``sources`` is the serialized ``expand`` mapping; ``value_of(task_id, key)`` an XCom.
    ``zipped``: the lists are taken index by index, so they must be as long as one another.
    """
    lengths: dict[str, int] = {}
    for name, source in sources.items():
        length = _source_length(name, source, value_of)
        if isinstance(length, str):
            return length
        lengths[name] = length
    if zipped:
        if len(set(lengths.values())) > 1:
            return f"cannot expand a mapped task group's task: its lists differ in length {lengths}"
        return next(iter(lengths.values()), 0)
    total = 1
    for length in lengths.values():
        total *= length
    return total


def _source_length(
    name: str, source: Mapping[str, Any], value_of: Callable[[str, str], Any], dicts: bool = False
) -> int | str:
    """One serialized list's length, or why it has none (a message). ``dicts``: a dict counts
    its keys, as a ``map``, ``zip`` or ``concat`` takes one in Airflow (a plain expand
    over a dict is refused: its elements would not be Airflow's)."""
    if "length" in source:
        return int(source["length"])
    if "map" in source:
        return _source_length(name, source["map"], value_of, dicts=True)
    if "zip" in source or "concat" in source:
        lengths = []
        for part in source.get("zip") or source["concat"]:
            length = _source_length(name, part, value_of, dicts=True)
            if isinstance(length, str):
                return length
            lengths.append(length)
        if "concat" in source:
            return sum(lengths)
        return max(lengths) if source.get("fill") else min(lengths)
    task_id, key = source["xcom"]
    value = value_of(task_id, key)
    if not isinstance(value, list | dict) or (isinstance(value, dict) and not dicts):
        shown = "expand_kwargs()" if name == KWARGS_INPUT else repr(name)
        return (
            f"cannot expand {shown} over the XCom {key!r} of {task_id!r}: it is "
            f"{type(value).__name__}, not a list"
        )
    return len(value)
