"""Dynamic task mapping: one task, expanded at run time into an instance per list element.

    PythonOperator.partial(task_id="square", python_callable=f).expand(op_args=[[1], [2]])
    BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])
    add.partial(y=10).expand(x=numbers())      # @task: numbers' return value, a list

A mapped task is one node of the DAG (a :class:`MappedOperator`). When its upstream allows it
to run, the scheduler reads the length of each list (an upstream XCom, or the literal's length
serialized with the DAG) and makes one task instance per element, numbered by ``map_index``;
several expanded arguments make the cross product. The worker then builds the real operator
of one instance with :func:`unmap`. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.task import BaseOperator, _accepted_arguments
from conveyor.model.xcom_arg import XComArg, find_xcom_args, resolve_xcom_args

#: Where an expanded argument's list comes from, as the serialized DAG tells the scheduler.
ExpandSource = list[Any] | tuple[Any, ...] | XComArg

_BASE_ARGUMENTS = _accepted_arguments(BaseOperator)


class MappedOperator(BaseOperator):
    """A task that becomes one instance per element (or combination) of its expanded lists.

    It carries the scheduling fields (retries, queue, trigger rule, ...) of the operator it
    stands for; each instance runs a fresh ``operator_class`` built by :func:`unmap`.
    """

    operator_class: type[BaseOperator]
    partial_kwargs: dict[str, Any]
    expand_input: dict[str, ExpandSource]
    #: ``op_kwargs`` for @task functions (expanded names are the function's arguments).
    expand_into: str | None
    #: Instance i takes element i of every list (they must be as long), instead of the cross
    #: product: the tasks of a mapped task group (conveyor.model.group_mapping).
    zip_lists: bool = False

    @property
    def operator_name(self) -> str:
        return self.operator_class.__name__

    def execute(self, context: dict[str, Any]) -> Any:
        raise DagDefinitionError(
            f"mapped task {self.task_id!r} runs as its instances; use unmap() to build one"
        )


class PartialTask:
    """The constant arguments of a mapped task, waiting for :meth:`expand`."""

    def __init__(
        self,
        operator_class: type[BaseOperator],
        kwargs: dict[str, Any],
        *,
        expand_into: str | None = None,
        returns: Callable[[MappedOperator], Any] | None = None,
    ) -> None:
        task_id = kwargs.get("task_id")
        if not isinstance(task_id, str):
            raise DagDefinitionError(
                f"{operator_class.__name__}.partial() needs task_id=..., got {task_id!r}"
            )
        self.operator_class = operator_class
        self.kwargs = kwargs
        self.expand_into = expand_into
        self._returns = returns

    def expand_zipped(self, **lists: ExpandSource) -> Any:
        """One instance per index of the lists, which must be as long as one another."""
        return self.expand(_zip=True, **lists)

    def expand(self, _zip: bool = False, **lists: ExpandSource) -> Any:
        """One instance per element of each list (the cross product when there are several)."""
        task_id = self.kwargs["task_id"]
        if not lists:
            raise DagDefinitionError(f"task {task_id!r}: expand() needs at least one list")
        accepted = _accepted_arguments(self.operator_class)
        constants = self.kwargs.get(self.expand_into, {}) if self.expand_into else self.kwargs
        for name, source in lists.items():
            if not isinstance(source, list | tuple | XComArg):
                raise DagDefinitionError(
                    f"task {task_id!r}: expand({name}=...) needs a list or the output of an "
                    f"upstream task, got {type(source).__name__} {source!r}"
                )
            if name in constants:
                raise DagDefinitionError(
                    f"task {task_id!r}: {name!r} is given to both partial() and expand()"
                )
            if self.expand_into is None and (name not in accepted or name == "task_id"):
                raise DagDefinitionError(
                    f"task {task_id!r}: {self.operator_class.__name__} has no argument "
                    f"{name!r} to expand"
                )
        mapped = _mapped_operator(self.operator_class, self.kwargs, lists, self.expand_into)
        mapped.zip_lists = _zip
        return self._returns(mapped) if self._returns else mapped


def _mapped_operator(
    operator_class: type[BaseOperator],
    kwargs: dict[str, Any],
    lists: dict[str, ExpandSource],
    expand_into: str | None,
) -> MappedOperator:
    from conveyor.model.dag import DagContext

    kwargs = dict(kwargs)
    dag = kwargs.pop("dag", None) or DagContext.current()
    # Defaults are taken now: the instances are built where no DAG context is open.
    accepted = _accepted_arguments(operator_class)
    defaults = dict(dag.default_args) if dag is not None else {}
    defaults.update(kwargs.pop("default_args", None) or {})
    for key, value in defaults.items():
        if key in accepted and key not in kwargs:
            kwargs[key] = value
    task_id = kwargs.pop("task_id")
    base = {k: v for k, v in kwargs.items() if k in _BASE_ARGUMENTS}
    mapped = MappedOperator(task_id, dag=dag, **base)
    mapped.operator_class = operator_class
    mapped.partial_kwargs = kwargs
    mapped.expand_input = dict(lists)
    mapped.expand_into = expand_into
    if "python_callable" in kwargs:
        mapped.python_callable = kwargs["python_callable"]  # type: ignore[attr-defined]
    for arg in find_xcom_args([kwargs, list(lists.values())]):
        arg.operator.set_downstream(mapped)
    return mapped


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
