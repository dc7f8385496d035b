"""``Label``: a name on a dependency edge, shown on the graph.

    check >> Label("rows found") >> load
    [a, b] >> Label("then") >> c
    check.set_downstream(load, edge_modifier=Label("rows found"))

A label stands between the tasks of a ``>>`` chain: the tasks before it are remembered, and
the tasks after it are linked to them with the label on each edge. It changes nothing about
when tasks run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.dependencies import DependencyMixin, link

if TYPE_CHECKING:
    from conveyor.model.task import BaseOperator


class Label(DependencyMixin):
    is_label = True

    def __init__(self, label: str) -> None:
        if not isinstance(label, str) or not label.strip():
            raise DagDefinitionError(f"Label needs some text, got {label!r}")
        self.label = label
        self._upstream: list[BaseOperator] = []  # tasks written before it: a >> Label
        self._downstream: list[BaseOperator] = []  # tasks written after it: b << Label

    def dependency_ends(self, downstream: bool) -> list[BaseOperator]:
        # A label stands for no task: in a list, or linked directly, it is a mistake.
        raise DagDefinitionError(f"cannot depend on {self!r}: expected a task")

    def add_upstream(self, task: BaseOperator, edge_modifier: Label | None = None) -> None:
        """``task >> Label``: remembered until the label is linked on, and linked at once
        to the tasks already written after it."""
        self._upstream.append(task)
        for after in self._downstream:
            link(task, after, self)

    def add_downstream(self, task: BaseOperator, edge_modifier: Label | None = None) -> None:
        """``task << Label``: remembered, and linked at once to the tasks already written
        before it (``chain([a, b], [Label("x"), Label("y")], c)`` links ``a >> c`` and
        ``b >> c``, as in Airflow)."""
        self._downstream.append(task)
        for before in self._upstream:
            link(before, task, self)

    def set_downstream(self, other: Any, edge_modifier: Label | None = None) -> None:
        """``Label >> other``: the tasks before the label, linked to ``other`` with it."""
        if not self._upstream:
            raise DagDefinitionError(f"Label({self.label!r}) >> ...: no task before the label")
        for task in self._upstream:
            task.set_downstream(other, edge_modifier=self)

    def set_upstream(self, other: Any, edge_modifier: Label | None = None) -> None:
        """``Label << other``: ``other`` linked to the tasks after the label, with it."""
        if not self._downstream:
            raise DagDefinitionError(f"Label({self.label!r}) << ...: no task after the label")
        for task in self._downstream:
            task.set_upstream(other, edge_modifier=self)

    def __repr__(self) -> str:
        return f"Label({self.label!r})"
