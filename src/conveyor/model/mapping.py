"""Dynamic task mapping: one task, expanded at run time into an instance per list element.

    PythonOperator.partial(task_id="square", python_callable=f).expand(op_args=[[1], [2]])
    BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])
    add.partial(y=10).expand(x=numbers())      # @task: numbers' return value, a list

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

from conveyor.model.task import BaseOperator, MappedOperator
from conveyor.model.xcom_arg import XComArg, resolve_xcom_args


def instance_indexes(map_index: int, lengths: list[int]) -> list[int]:
    """The element index in each list for one instance: itertools.product's order."""
    indexes = []
    for length in reversed(lengths):
        indexes.append(map_index % length)
        map_index //= length
    return indexes[::-1]


def unmap(task: BaseOperator, map_index: int, pull: Callable[[str, str], Any]) -> BaseOperator:
    """The real operator of one instance of a mapped task (any other task comes back as is).

    ``pull(task_id, key)`` reads an upstream XCom (a list of results for a mapped upstream).
    """
    if not isinstance(task, MappedOperator):
        return task
    lists = {
        name: list(resolve_xcom_args(source, pull)) for name, source in task.expand_input.items()
    }
    if task.zip_lists:
        indexes = [map_index] * len(lists)
    else:
        indexes = instance_indexes(map_index, [len(values) for values in lists.values()])
    chosen = {name: values[i] for (name, values), i in zip(lists.items(), indexes, strict=True)}
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


def serialize_expand_input(task: BaseOperator) -> dict[str, Any]:
    """What the scheduler needs to expand a mapped task: each list's length or its XCom."""
    if not isinstance(task, MappedOperator):
        return {}
    sources: dict[str, Any] = {}
    for name, source in task.expand_input.items():
        if isinstance(source, XComArg):
            sources[name] = {"xcom": [source.operator.task_id, source.key]}
        else:
            sources[name] = {"length": len(source)}
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
        if "length" in source:
            lengths[name] = int(source["length"])
            continue
        task_id, key = source["xcom"]
        value = value_of(task_id, key)
        if not isinstance(value, list):
            return (
                f"cannot expand {name!r} over the XCom {key!r} of {task_id!r}: it is "
                f"{type(value).__name__}, not a list"
            )
        lengths[name] = len(value)
    if zipped:
        if len(set(lengths.values())) > 1:
            return f"cannot expand a mapped task group's task: its lists differ in length {lengths}"
        return next(iter(lengths.values()), 0)
    total = 1
    for length in lengths.values():
        total *= length
    return total
