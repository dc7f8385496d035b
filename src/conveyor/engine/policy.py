"""What the engine does around a move, as one table of rules.

Each entry point that moves a try or a run (``tries.try_ended``, ``deferral.record_deferral``
and the others, each a :class:`Point`) takes its locks and makes its reads first, then
follows one ordered list of :class:`Rule`: a rule states when it applies (a small predicate
over what the entry point knows so far) and what it does. :func:`follow` runs a list; nothing
happens that its list does not name, in an order other than the list's.

The lists are not written one per entry point: they are drawn from one :class:`Table`, whose
:class:`Line` places a rule at the points it serves (by name, or by a kind every such point
has: a rule meant for every end of a try is one line) and, where it matters, at the states
the move goes from and to. Each point's list is drawn once, at import (:meth:`Table.entry`),
so following it costs what a hand-written list costs; every point drawn or registered is kept
(:func:`registered`) so that one test can print each story whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from conveyor.lifecycle import Outcome, TaskMove
from conveyor.states import TaskState

C = TypeVar("C", contravariant=True)
E = TypeVar("E")


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One step of an entry point: ``does`` when ``when`` holds, in its list's order. A rule
    over a general record serves every entry point whose record extends it."""

    name: str
    when: Callable[[C], bool]
    does: Callable[[C], None]


def follow(policy: Sequence[Rule[E]], end: E) -> E:
    """Apply each rule of ``policy`` that applies to ``end``, in order; ``end``, as the
    rules left it."""
    for rule in policy:
        if rule.when(end):
            rule.does(end)
    return end


def always(_end: object) -> bool:
    """A rule that applies to every end."""
    return True


@dataclass(frozen=True)
class Point:
    """An entry point: its ``name``, the ``kinds`` of move it makes (a line placed at a kind
    serves every point of that kind), the states its move goes ``from``, and those it may go
    ``to`` (empty: not known before the move is decided)."""

    name: str
    kinds: tuple[str, ...] = ()
    moves_from: tuple[TaskState, ...] = ()
    moves_to: tuple[TaskState, ...] = ()


@dataclass(frozen=True)
class Line:
    """A rule placed in the table: at the points named in ``at`` (a point's name or one of
    its kinds), for moves from one of ``moves_from`` (checked once, against the point) and
    to one of ``to`` (checked as the rule is followed, against the decided outcome); empty:
    any state."""

    rule: Rule[Any]
    at: tuple[str, ...]
    moves_from: tuple[TaskState, ...] = ()
    to: tuple[TaskState, ...] = ()

    def serves(self, point: Point) -> bool:
        """Whether ``point``'s list holds this line: placed at it, from a state it moves
        from, to a state it may move to."""
        placed = point.name in self.at or any(kind in self.at for kind in point.kinds)
        return (
            placed and _meet(self.moves_from, point.moves_from) and _meet(self.to, point.moves_to)
        )

    def drawn(self, point: Point) -> Rule[Any]:
        """The rule as ``point``'s list holds it: ``to`` folded into its ``when``, once, unless
        every state the point moves to is one of ``to`` (then it needs no check)."""
        if not self.to or (point.moves_to and set(point.moves_to) <= set(self.to)):
            return self.rule
        return Rule(self.rule.name, _going_to(frozenset(self.to), self.rule.when), self.rule.does)


def point(
    name: str,
    kinds: tuple[str, ...],
    move: TaskMove,
    moves_from: Iterable[TaskState],
    decides: Iterable[TaskState] | None = None,
) -> Point:
    """The entry point ``name`` that makes ``move`` (``lifecycle.py``) from ``moves_from``:
    the states it may move to are the move's declared steps from those, narrowed to what
    its decision can give (``decides``; None: any of them)."""
    starts = tuple(sorted(moves_from))
    to = tuple(dict.fromkeys(end for start, end in move.steps if start in starts))
    if decides is not None:
        narrowed = frozenset(decides)
        if not narrowed <= frozenset(to):
            raise ValueError(f"{name}: {move.name} never moves from {starts} to {narrowed}")
        to = tuple(state for state in to if state in narrowed)
    return Point(name, kinds, starts, to)


def line(
    name: str,
    when: Callable[[Any], bool],
    does: Callable[[Any], None],
    at: str | tuple[str, ...],
    *,
    moves_from: tuple[TaskState, ...] = (),
    to: tuple[TaskState, ...] = (),
) -> Line:
    """A table's line: the rule ``name`` (``does`` when ``when`` holds), placed ``at``."""
    where = (at,) if isinstance(at, str) else at
    return Line(Rule(name, when, does), where, moves_from, to)


def _meet(placed: tuple[TaskState, ...], possible: tuple[TaskState, ...]) -> bool:
    """Whether a line placed at ``placed`` states may meet a point's ``possible`` ones (either
    empty: any)."""
    return not placed or not possible or any(state in placed for state in possible)


class Decided(Protocol):
    """The record of an entry point whose lines name the state a move goes to."""

    @property
    def outcome(self) -> Outcome | None: ...


def _going_to(states: frozenset[TaskState], when: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def applies(end: Decided) -> bool:
        outcome = end.outcome
        return outcome is not None and outcome.state in states and when(end)

    return applies


@dataclass(frozen=True)
class Drawn:
    """A point's list, as drawn from the table: its lines, and the rules :func:`follow` runs."""

    point: Point
    lines: tuple[Line, ...]
    rules: tuple[Rule[Any], ...]


_REGISTERED: dict[str, Drawn] = {}


class Table:
    """The engine's rules, in the one order every entry point's list keeps."""

    def __init__(self, *lines: Line) -> None:
        self.lines = lines

    def draw(self, point: Point) -> Drawn:
        """``point``'s list: the lines that serve it, in the table's order."""
        lines = tuple(each for each in self.lines if each.serves(point))
        return Drawn(point, lines, tuple(each.drawn(point) for each in lines))

    def entry(self, point: Point) -> tuple[Rule[Any], ...]:
        """``point``'s list (:meth:`draw`), registered: what the entry point follows."""
        return _register(self.draw(point))


def register(point: Point, rules: Sequence[Rule[E]]) -> tuple[Rule[E], ...]:
    """An entry point whose list is written beside it rather than drawn from a table: kept
    with the others for readers (:func:`registered`), returned as is."""
    lines = tuple(Line(rule, (point.name,)) for rule in rules)
    _register(Drawn(point, lines, tuple(rules)))
    return tuple(rules)


def _register(drawn: Drawn) -> tuple[Rule[Any], ...]:
    known = _REGISTERED.get(drawn.point.name)
    if known is not None and known.point != drawn.point:
        raise ValueError(f"two entry points are named {drawn.point.name!r}")
    _REGISTERED[drawn.point.name] = drawn
    return drawn.rules


def registered() -> Mapping[str, Drawn]:
    """Every entry point drawn or registered in this process, by name."""
    return dict(_REGISTERED)


def story(drawn: Drawn) -> str:
    """A point's list as a reader follows it: one numbered line per rule, with when it
    applies and the states it is placed at."""
    point = drawn.point
    head = point.name
    if point.kinds:
        head += f" ({', '.join(point.kinds)})"
    if point.moves_from:
        head += f"\n    from {_states(point.moves_from)}"
    if point.moves_to:
        head += f" to {_states(point.moves_to)}"
    out = [head]
    for number, placed in enumerate(drawn.lines, 1):
        text = f"  {number:>2}. {placed.rule.name}"
        when = [] if placed.rule.when is always else [f"when {_named(placed.rule.when)}"]
        if placed.to:
            when.append(f"to {_states(placed.to)}")
        if when:
            text += f"  [{', '.join(when)}]"
        out.append(text)
    return "\n".join(out)


def _states(states: Sequence[TaskState]) -> str:
    return " | ".join(state.value for state in states)


def _named(function: Callable[..., object]) -> str:
    return getattr(function, "__name__", repr(function)).strip("_").replace("_", " ")
