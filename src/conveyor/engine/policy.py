"""What the engine does around a try's move, as ordered lists of rules.

Each entry point that records a try's end (``tries.try_ended``, ``tries.end_from_outside``,
``deferral.record_deferral``, ``runs.hand_back``) is one declared list of :class:`Rule`, read
top to bottom: a rule states when it applies (a small predicate over what the entry point
knows so far) and what it does. :func:`follow` runs a list in one transaction; nothing
happens that its list does not name, in an order other than the list's. Changing what a
try's end does is a line in a list and a function beside it.

The lists live beside their entry points, each over its own small record of the end being
made (``tries._Ending`` and the others); every rule after the move applies only when the
move was won, unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C")


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One step of an entry point: ``does`` when ``when`` holds, in its list's order."""

    name: str
    when: Callable[[C], bool]
    does: Callable[[C], None]


def follow(policy: Sequence[Rule[C]], end: C) -> C:
    """Apply each rule of ``policy`` that applies to ``end``, in order; ``end``, as the
    rules left it."""
    for rule in policy:
        if rule.when(end):
            rule.does(end)
    return end


def always(_end: object) -> bool:
    """A rule that applies to every end."""
    return True
