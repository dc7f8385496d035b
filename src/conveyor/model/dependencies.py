"""``>>``, ``<<``, ``set_upstream`` and ``set_downstream``, written once for everything that
stands in a dependency chain: a task, a task's output (``XComArg``), a task group, an edge
``Label``.

Each says which tasks it stands for (:meth:`DependencyMixin.dependency_ends`): a task stands
for itself; a group for its roots when it is downstream and for its leaves when it is
upstream. A ``Label`` stands for no task: it remembers the tasks written before (or after)
it, and links them on with the label on each edge (conveyor.model.edges).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from conveyor.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from conveyor.model.edges import Label
    from conveyor.model.task import BaseOperator


class DependencyMixin:
    """Something that stands for tasks in ``>>`` / ``<<`` chains."""

    #: A ``Label``: it stands for no task, only for the edges written through it.
    is_label: ClassVar[bool] = False

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:  # pragma: no cover
        """The tasks this stands for: its roots when it is downstream, else its leaves."""
        raise NotImplementedError

    def set_downstream(
        self, other: DependencyTarget | Label, edge_modifier: Label | None = None
    ) -> None:
        """``self >> other``: each task this ends with goes upstream of what ``other``
        begins with (a Label in between remembers them instead)."""
        self._chain(other, edge_modifier, downstream=True)

    def set_upstream(
        self, other: DependencyTarget | Label, edge_modifier: Label | None = None
    ) -> None:
        """``self << other``: what ``other`` ends with goes upstream of each task this
        begins with."""
        self._chain(other, edge_modifier, downstream=False)

    def _chain(
        self, other: DependencyTarget | Label, edge_modifier: Label | None, *, downstream: bool
    ) -> None:
        """Link this to ``other``, which goes ``downstream`` of it (else upstream)."""
        ends = self.dependency_ends(downstream=not downstream)
        if isinstance(other, DependencyMixin):
            # ``other`` links them itself (a Label remembers them for later instead).
            add = other.add_upstream if downstream else other.add_downstream
            for task in ends:
                add(task, edge_modifier)
            return
        # A list: each item on its own, so a Label in it remembers these tasks as well
        # (``chain(a, [Label("x"), Label("y")], [b, c])``).
        for item in _sequence(other):
            self._chain(item, edge_modifier, downstream=downstream)

    def add_upstream(self, task: BaseOperator, edge_modifier: Label | None = None) -> None:
        """``task >> self``, for one task."""
        for target in self.dependency_ends(downstream=True):
            link(task, target, edge_modifier)

    def add_downstream(self, task: BaseOperator, edge_modifier: Label | None = None) -> None:
        """``self >> task``, for one task."""
        for source in self.dependency_ends(downstream=False):
            link(source, task, edge_modifier)

    def __rshift__(self, other: Any) -> Any:
        if not self._joins(other):
            self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        if not self._joins(other):
            self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        if not self._joins(other):
            for task in tasks_of(other, downstream=False):  # [a, b] >> self
                self.add_upstream(task)
        return self

    def __rlshift__(self, other: Any) -> Any:
        if not self._joins(other):
            for task in tasks_of(other, downstream=True):  # [a, b] << self
                self.add_downstream(task)
        return self

    def _joins(self, other: Any) -> bool:
        """Airflow 1.10's ``dag >> task`` (or ``task << dag``, ``task >> dag``): the task
        joins the DAG and no edge is made; a task of another DAG is refused, as 1.10 did."""
        if not getattr(type(other), "joins_tasks_by_shift", False):  # a DAG (not imported here)
            return False
        for task in self.dependency_ends(downstream=True):
            _join(
                task,
                other,
                lambda t: (
                    f"task {t.task_id!r} belongs to DAG {t.dag and t.dag.dag_id!r}: it cannot "
                    f"join DAG {other.dag_id!r} through >> or <<"
                ),
            )
        return True


#: What ``>>`` takes: a task, an output, a group, or a list of them.
DependencyTarget = DependencyMixin | Iterable[Any]


def tasks_of(target: DependencyTarget, downstream: bool = True) -> list[BaseOperator]:
    """The tasks a dependency target stands for; a task group stands for its roots when it
    is downstream, and for its leaves when it is upstream."""
    if isinstance(target, DependencyMixin):
        return target.dependency_ends(downstream)
    if isinstance(target, str | bytes):
        raise DagDefinitionError(f"cannot depend on {target!r}: expected a task, not a string")
    try:
        items = list(target)
    except TypeError:
        raise DagDefinitionError(f"cannot depend on {target!r}: expected a task") from None
    return [task for item in items for task in tasks_of(item, downstream)]


def link(
    upstream: BaseOperator, downstream: BaseOperator, edge_modifier: Label | None = None
) -> None:
    """One edge ``upstream >> downstream`` in their DAG (a task of no DAG joins the other's)."""
    dag = upstream.dag or downstream.dag
    if dag is None:
        raise DagDefinitionError(
            f"cannot link {upstream.task_id!r} >> {downstream.task_id!r}: "
            "neither task belongs to a DAG"
        )
    for task in (upstream, downstream):
        _join(
            task,
            dag,
            lambda _: (
                f"cannot link tasks of different DAGs: {upstream.task_id!r} "
                f"({upstream.dag and upstream.dag.dag_id}) >> {downstream.task_id!r} "
                f"({downstream.dag and downstream.dag.dag_id})"
            ),
        )
    dag.add_edge(upstream.task_id, downstream.task_id)
    if edge_modifier is not None:
        dag.edge_labels.setdefault(downstream.task_id, {})[upstream.task_id] = edge_modifier.label


def _join(task: BaseOperator, dag: Any, refusal: Callable[[BaseOperator], str]) -> None:
    """``task`` in ``dag``: a task of no DAG joins it, one of another DAG is refused with
    ``refusal(task)`` (made only then: a DAG of thousands of tasks links each one)."""
    if task.dag is None:
        dag.add_task(task)
    elif task.dag is not dag:
        raise DagDefinitionError(refusal(task))


def chain(*targets: DependencyTarget | Label) -> None:
    """``chain(a, b, [c, d], e)`` is ``a >> b >> [c, d] >> e``; a ``Label`` may stand
    between two of them: ``chain(a, Label("ok"), b)``.

    Two lists in a row are paired one to one, as in Airflow: ``chain(a, [b, c], [d, e])``
    links ``b >> d`` and ``c >> e`` (not every task to every task), so they must be as long
    as each other."""
    for up, down in itertools.pairwise(targets):
        if isinstance(up, DependencyMixin):
            up.set_downstream(down)
        elif isinstance(down, DependencyMixin):
            down.set_upstream(up)
        else:
            ups, downs = _sequence(up), _sequence(down)
            if len(ups) != len(downs):
                raise DagDefinitionError(
                    f"chain() cannot pair a list of {len(ups)} with a list of {len(downs)}: "
                    "two lists in a row are linked one to one (the first to the first, ...), "
                    "so they must be as long as each other; use cross_downstream() to link "
                    "every task of one list to every task of the other"
                )
            for one_up, one_down in zip(ups, downs, strict=True):
                _element(one_up).set_downstream(one_down)


def chain_linear(*targets: DependencyTarget) -> None:
    """``chain_linear(a, [b, c], [d, e, f], g)``: every task of each element upstream of every
    task of the next (``a >> [b, c]``, ``b >> [d, e, f]``, ``c >> [d, e, f]``, ...)."""
    if not targets:
        raise DagDefinitionError("chain_linear() was given no tasks: nothing to link")
    linked = False
    previous: list[Any] | None = None
    for target in targets:
        elements = [target] if isinstance(target, DependencyMixin) else _sequence(target)
        if any(_is_label(element) for element in elements):
            raise DagDefinitionError(
                "chain_linear() does not take a Label: write the labelled edge with >> "
                "(a >> Label('text') >> b) or chain()"
            )
        if previous is not None:
            for element in previous:
                _element(element).set_downstream(target)
                linked = True
        previous = elements
    if not linked:
        raise DagDefinitionError(
            "chain_linear() set no dependency: give it two elements or more "
            "(a list of tasks is expanded with *: chain_linear(*tasks))"
        )


def _sequence(target: Any) -> list[Any]:
    """A list element of ``chain``: its items (a string is no list of tasks)."""
    if isinstance(target, str | bytes):
        raise DagDefinitionError(f"cannot depend on {target!r}: expected a task, not a string")
    try:
        return list(target)
    except TypeError:
        raise DagDefinitionError(f"cannot depend on {target!r}: expected a task") from None


def _element(item: Any) -> DependencyMixin:
    """One item of a list given to ``chain``: a task, an output, a group or a label."""
    if not isinstance(item, DependencyMixin):
        raise DagDefinitionError(
            f"cannot chain {item!r}: each item of a list given to chain() must be a task, "
            "a task's output, a task group or a Label"
        )
    return item


def _is_label(item: Any) -> bool:
    return isinstance(item, DependencyMixin) and item.is_label
